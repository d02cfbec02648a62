import type autocannon from 'autocannon';
import { startCeiling, sampleResponse } from './ceiling.js';
import type { FlowMetrics } from './drivers.js';
import { loadInTurns, loadWith, type LoadMetrics, type LoadTarget, type RequestSpec } from './load.js';
import type { MachineCpu, ProcessUsage } from './sampler.js';

/** One line of a scenario's result: a measured rate and latencies, and its ceiling where one applies. */
export interface ResultRow {
  label: string;
  unit: 'req/s' | 'checkouts/s' | 'ms' | 'connections';
  rate: number;
  p50: number;
  p90: number;
  p99: number;
  errors: number;
  non_2xx: number;
  rss_mb_max?: number;
  cpu_pct_avg?: number;
  /** Where the machine's CPU went during the load. */
  cpu_split?: MachineCpu;
  response_bytes?: number;
  ceiling?: { rate: number; p50: number; p99: number; rss_mb_max?: number; cpu_pct_avg?: number };
  /** rate / ceiling rate. */
  ratio?: number;
  /** The same ratio in each round of turns (see `loadInTurns`): how far it moved during the run. */
  round_ratios?: number[];
  detail?: unknown;
}

export function rowOfLoad(label: string, load: LoadMetrics, usage?: ProcessUsage): ResultRow {
  return {
    label,
    unit: 'req/s',
    rate: load.req_per_s,
    p50: load.latency_ms.p50,
    p90: load.latency_ms.p90,
    p99: load.latency_ms.p99,
    errors: load.errors,
    non_2xx: load.non_2xx,
    rss_mb_max: (usage ?? load.usage)?.rss_mb_max,
    cpu_pct_avg: (usage ?? load.usage)?.cpu_pct_avg,
    cpu_split: (usage ?? load.usage)?.cpu_split,
    detail: load,
  };
}

export function rowOfFlows(label: string, flows: FlowMetrics, usage?: ProcessUsage): ResultRow {
  return {
    label,
    unit: 'checkouts/s',
    rate: flows.per_s,
    p50: flows.flow_ms.p50,
    p90: flows.flow_ms.p90,
    p99: flows.flow_ms.p99,
    errors: flows.errors,
    non_2xx: 0,
    rss_mb_max: usage?.rss_mb_max,
    cpu_pct_avg: usage?.cpu_pct_avg,
    cpu_split: usage?.cpu_split,
    detail: flows,
  };
}

/** The request a spec sends first, for sampling the response the ceiling replays. */
function firstRequest(spec: RequestSpec): autocannon.Request {
  const base = { method: spec.method, path: spec.path, headers: { ...spec.headers }, body: spec.body };
  return spec.setupRequest ? spec.setupRequest(base) : base;
}

/**
 * Loads Bazaar with `spec` and a bare Fastify server replaying the exact bytes of one of Bazaar's
 * answers, in turns (see `loadInTurns`), identically; the row carries both and their ratio.
 */
export async function measureAgainstCeiling(
  label: string,
  bazaar: Required<LoadTarget>,
  spec: RequestSpec,
  options: {
    connections: number;
    warmupSeconds: number;
    seconds: number;
    rounds: number;
    ceilingPort: number;
  },
): Promise<ResultRow> {
  const first = firstRequest(spec);
  const sample = await sampleResponse(`${bazaar.url}${first.path ?? spec.path}`, {
    method: first.method ?? spec.method,
    headers: first.headers as Record<string, string> | undefined,
    body: first.body as string | undefined,
  });
  const ceiling = await startCeiling(sample, options.ceilingPort);
  try {
    if (options.warmupSeconds > 0) {
      for (const url of [bazaar.url, ceiling.url])
        await loadWith(url, spec, { connections: options.connections, seconds: options.warmupSeconds });
    }
    const {
      loads: [measured, top],
      roundRatios,
    } = await loadInTurns([bazaar, ceiling], spec, options);
    const row = rowOfLoad(label, measured);
    row.response_bytes = sample.body.length;
    row.ceiling = {
      rate: top.req_per_s,
      p50: top.latency_ms.p50,
      p99: top.latency_ms.p99,
      rss_mb_max: top.usage?.rss_mb_max,
      cpu_pct_avg: top.usage?.cpu_pct_avg,
    };
    row.ratio = top.req_per_s > 0 ? Math.round((measured.req_per_s / top.req_per_s) * 1000) / 1000 : 0;
    row.round_ratios = roundRatios;
    return row;
  } finally {
    await ceiling.stop();
  }
}
