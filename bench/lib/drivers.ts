import net from 'node:net';
import { checkout, type CheckoutStep, type Fixtures } from './shop.js';
import { round1 } from './sampler.js';

export interface FlowMetrics {
  clients: number;
  completed: number;
  per_s: number;
  flow_ms: { p50: number; p90: number; p99: number; max: number };
  /** Median of each step: placing the order, creating the payment, confirming the card, then until the order reads `paid` (the webhook's trip through the worker, seen by polling every 20 ms). */
  step_ms_p50: Record<CheckoutStep, number>;
  errors: number;
  first_errors: string[];
}

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  const index = Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1);
  return round1(sorted[Math.max(0, index)]!);
}

/**
 * `clients` storefront clients, each running whole checkouts back to back for `seconds`; a flow
 * counts when its order reads `paid`. Flows still running at the end are awaited, not counted.
 */
export async function runCheckouts(
  base: string,
  fixtures: Fixtures,
  options: { clients: number; seconds: number },
): Promise<FlowMetrics> {
  const durations: number[] = [];
  const stepTimes: Record<CheckoutStep, number[]> = { order: [], payment: [], confirm: [], until_paid: [] };
  const errors: string[] = [];
  let errorCount = 0;
  const started = performance.now();
  const endAt = started + options.seconds * 1000;
  let next = 0;
  const client = async (index: number) => {
    const customer = fixtures.customers[index % fixtures.customers.length]!;
    while (performance.now() < endAt) {
      const variant = fixtures.variantIds[next++ % fixtures.variantIds.length]!;
      try {
        const times = await checkout(base, customer, variant);
        if (performance.now() <= endAt) {
          durations.push(times.total);
          for (const [name, ms] of Object.entries(times.steps)) stepTimes[name as CheckoutStep].push(ms);
        }
      } catch (error) {
        errorCount += 1;
        if (errors.length < 5) errors.push(error instanceof Error ? error.message : String(error));
      }
    }
  };
  await Promise.all(Array.from({ length: options.clients }, (_, i) => client(i)));
  const elapsed = Math.min(performance.now(), endAt) - started;
  durations.sort((a, b) => a - b);
  return {
    clients: options.clients,
    completed: durations.length,
    per_s: round1(durations.length / (elapsed / 1000)),
    flow_ms: {
      p50: percentile(durations, 50),
      p90: percentile(durations, 90),
      p99: percentile(durations, 99),
      max: round1(durations.at(-1) ?? 0),
    },
    step_ms_p50: Object.fromEntries(
      Object.entries(stepTimes).map(([name, times]) => [
        name,
        percentile(
          times.sort((a, b) => a - b),
          50,
        ),
      ]),
    ) as Record<CheckoutStep, number>,
    errors: errorCount,
    first_errors: errors,
  };
}

export interface IdleConnections {
  opened: number;
  failedToOpen: number;
  /** How many are still open (not closed or reset by the server). */
  stillOpen: () => number;
  errors: () => number;
  close: () => void;
}

/**
 * Opens `count` keep-alive HTTP connections, each after one real request (GET /healthz), and
 * leaves them idle. Opens them in batches so the accept queue is not the thing measured.
 */
export async function openIdleConnections(port: number, count: number): Promise<IdleConnections> {
  const sockets: net.Socket[] = [];
  let failed = 0;
  let errors = 0;
  let closed = 0;
  const openOne = () =>
    new Promise<void>((resolve) => {
      const socket = net.connect({ port, host: '127.0.0.1' });
      let answered = false;
      let settled = false;
      const settle = (ok: boolean) => {
        if (settled) return;
        settled = true;
        answered = ok;
        if (ok) sockets.push(socket);
        else failed += 1;
        resolve();
      };
      socket.setKeepAlive(true);
      socket.on('connect', () =>
        socket.write('GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: keep-alive\r\n\r\n'),
      );
      socket.on('data', () => settle(true));
      socket.on('error', () => {
        errors += 1;
        settle(false);
      });
      socket.on('close', () => {
        if (answered) closed += 1;
        settle(false);
      });
    });
  const batch = 500;
  for (let i = 0; i < count; i += batch)
    await Promise.all(Array.from({ length: Math.min(batch, count - i) }, openOne));
  return {
    opened: sockets.length,
    failedToOpen: failed,
    stillOpen: () => sockets.length - closed,
    errors: () => errors,
    close: () => sockets.forEach((s) => s.destroy()),
  };
}
