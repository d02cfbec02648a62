import autocannon from 'autocannon';
import { round1, sampleProcess, type ProcessUsage } from './sampler.js';

/** One kind of request, as autocannon sends it; `setupRequest` varies headers and body per request. */
export interface RequestSpec {
  method: 'GET' | 'POST';
  path: string;
  headers?: Record<string, string>;
  body?: string;
  setupRequest?: (request: autocannon.Request) => autocannon.Request;
}

export interface LoadMetrics {
  req_per_s: number;
  requests: number;
  latency_ms: { p50: number; p90: number; p99: number; max: number };
  errors: number;
  timeouts: number;
  non_2xx: number;
  status_codes: Record<string, number>;
  throughput_mb_per_s: number;
  usage?: ProcessUsage;
}

function autocannonOptions(url: string, spec: RequestSpec, connections: number, seconds: number) {
  return {
    url: `${url}${spec.path}`,
    method: spec.method,
    headers: spec.headers,
    body: spec.body,
    connections,
    duration: seconds,
    ...(spec.setupRequest ? { requests: [{ setupRequest: spec.setupRequest }] } : {}),
  } satisfies autocannon.Options;
}

/** One autocannon run, kept raw so that runs can be merged (see `metricsOf`). */
interface Slice {
  raw: autocannon.Result;
  usage?: ProcessUsage;
  seconds: number;
}

// autocannon merges the histograms of raw runs; its typings leave this function out.
const aggregate = (
  autocannon as unknown as {
    aggregateResult: (
      results: autocannon.Result[],
      options: { url: string; connections: number },
    ) => autocannon.Result;
  }
).aggregateResult;

async function runSlice(
  url: string,
  spec: RequestSpec,
  options: { connections: number; seconds: number; pid?: number },
): Promise<Slice> {
  const sampler = options.pid ? sampleProcess(options.pid) : undefined;
  const raw = await autocannon({
    ...autocannonOptions(url, spec, options.connections, options.seconds),
    skipAggregateResult: true,
  });
  const usage = sampler?.stop();
  return { raw, usage, seconds: (raw as unknown as { duration: number }).duration };
}

/** The metrics of one or more runs against the same target, as if they were one run. */
function metricsOf(url: string, connections: number, slices: Slice[]): LoadMetrics {
  const result = aggregate(
    slices.map((s) => s.raw),
    { url, connections },
  );
  const seconds = slices.reduce((sum, s) => sum + s.seconds, 0);
  const raws = slices.map((s) => s.raw as unknown as { totalCompletedRequests: number; totalBytes: number });
  const requests = raws.reduce((sum, r) => sum + r.totalCompletedRequests, 0);
  const bytes = raws.reduce((sum, r) => sum + r.totalBytes, 0);
  const statusCodes: Record<string, number> = {};
  for (const [code, stat] of Object.entries(result.statusCodeStats ?? {}))
    statusCodes[code] = stat.count ?? 0;
  const usage = mergeUsage(slices);
  return {
    req_per_s: round1(requests / seconds),
    requests,
    latency_ms: {
      p50: result.latency.p50,
      p90: result.latency.p90,
      p99: result.latency.p99,
      max: result.latency.max,
    },
    errors: result.errors,
    timeouts: result.timeouts,
    non_2xx: result.non2xx,
    status_codes: statusCodes,
    throughput_mb_per_s: round1(bytes / seconds / 1024 / 1024),
    ...(usage ? { usage } : {}),
  };
}

/** CPU averaged over the runs' time, memory at its highest. */
function mergeUsage(slices: Slice[]): ProcessUsage | undefined {
  const sampled = slices.filter((s): s is Slice & { usage: ProcessUsage } => s.usage !== undefined);
  if (sampled.length === 0) return undefined;
  if (sampled.length === 1) return sampled[0]!.usage;
  const seconds = sampled.reduce((sum, s) => sum + s.seconds, 0);
  const mean = (of: (u: ProcessUsage) => number | undefined) =>
    round1(sampled.reduce((sum, s) => sum + (of(s.usage) ?? 0) * s.seconds, 0) / seconds);
  const split = sampled[0]!.usage.cpu_split;
  return {
    cpu_pct_avg: mean((u) => u.cpu_pct_avg),
    rss_mb_max: Math.max(...sampled.map((s) => s.usage.rss_mb_max)),
    rss_mb_avg: mean((u) => u.rss_mb_avg),
    cpu_split: {
      server: mean((u) => u.cpu_split.server),
      ...(split.worker === undefined ? {} : { worker: mean((u) => u.cpu_split.worker) }),
      postgres: mean((u) => u.cpu_split.postgres),
      redis: mean((u) => u.cpu_split.redis),
      load_generator: mean((u) => u.cpu_split.load_generator),
      machine: mean((u) => u.cpu_split.machine),
    },
  };
}

/** Loads `url` with autocannon for `seconds`, sampling `pid`'s CPU and RSS meanwhile. */
export async function loadWith(
  url: string,
  spec: RequestSpec,
  options: { connections: number; seconds: number; pid?: number },
): Promise<LoadMetrics> {
  return metricsOf(url, options.connections, [await runSlice(url, spec, options)]);
}

export interface LoadTarget {
  url: string;
  pid?: number;
}

/**
 * Loads two targets in turns for `seconds` each: `rounds` rounds, each a slice of both, in the
 * order A B B A A B … so that a machine that slows down or speeds up during the run weighs on
 * both alike. Returns each target's merged metrics and the ratio of A to B in every round.
 */
export async function loadInTurns(
  targets: [LoadTarget, LoadTarget],
  spec: RequestSpec,
  options: { connections: number; seconds: number; rounds: number },
): Promise<{ loads: [LoadMetrics, LoadMetrics]; roundRatios: number[] }> {
  // autocannon counts in whole seconds: every slice lasts at least one.
  const rounds = Math.max(1, Math.min(Math.round(options.rounds), Math.floor(options.seconds)));
  const sliceSeconds = Math.max(1, Math.floor(options.seconds / rounds));
  const slices: [Slice[], Slice[]] = [[], []];
  const roundRatios: number[] = [];
  for (let round = 0; round < rounds; round += 1) {
    const order = round % 2 === 0 ? [0, 1] : [1, 0];
    for (const which of order) {
      const target = targets[which]!;
      slices[which]!.push(
        await runSlice(target.url, spec, {
          connections: options.connections,
          seconds: sliceSeconds,
          pid: target.pid,
        }),
      );
    }
    const rateOf = (slice: Slice) =>
      (slice.raw as unknown as { totalCompletedRequests: number }).totalCompletedRequests / slice.seconds;
    const top = rateOf(slices[1][round]!);
    roundRatios.push(top > 0 ? Math.round((rateOf(slices[0][round]!) / top) * 1000) / 1000 : 0);
  }
  return {
    loads: [
      metricsOf(targets[0].url, options.connections, slices[0]),
      metricsOf(targets[1].url, options.connections, slices[1]),
    ],
    roundRatios,
  };
}

/** Warm-up (JIT, connection pools, caches) followed by the measured load. */
export async function warmThenLoad(
  url: string,
  spec: RequestSpec,
  options: { connections: number; warmupSeconds: number; seconds: number; pid?: number },
): Promise<LoadMetrics> {
  if (options.warmupSeconds > 0)
    await loadWith(url, spec, { connections: options.connections, seconds: options.warmupSeconds });
  return loadWith(url, spec, options);
}
