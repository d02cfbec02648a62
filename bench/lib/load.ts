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

/** Loads `url` with autocannon for `seconds`, sampling `pid`'s CPU and RSS meanwhile. */
export async function loadWith(
  url: string,
  spec: RequestSpec,
  options: { connections: number; seconds: number; pid?: number },
): Promise<LoadMetrics> {
  const sampler = options.pid ? sampleProcess(options.pid) : undefined;
  const result = await autocannon(autocannonOptions(url, spec, options.connections, options.seconds));
  const usage = sampler?.stop();
  const statusCodes: Record<string, number> = {};
  for (const [code, stat] of Object.entries(result.statusCodeStats ?? {}))
    statusCodes[code] = stat.count ?? 0;
  return {
    req_per_s: round1(result.requests.total / result.duration),
    requests: result.requests.total,
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
    throughput_mb_per_s: round1(result.throughput.average / 1024 / 1024),
    ...(usage ? { usage } : {}),
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
