import { SpanKind, type Span } from '@opentelemetry/api';
import type { PGlite, Transaction as PgliteTransaction } from '@electric-sql/pglite';
import type postgres from 'postgres';
import { recordError, tracer, tracingEnabled } from '../observability/tracing.js';

/**
 * Connection demand of one process' database client: queries and transactions started and not
 * yet settled. The drivers do not publish their pool state, so connections in use and waiters
 * are derived from it: demand up to the pool size is in use, the rest waits for a connection.
 */
export class PoolUsage {
  private demand = 0;
  constructor(readonly max: number) {}

  acquire(): () => void {
    this.demand++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.demand--;
    };
  }

  get inUse(): number {
    return Math.min(this.demand, this.max);
  }

  get waiting(): number {
    return Math.max(0, this.demand - this.max);
  }
}

/** A span for one SQL statement: its text (never its parameters), as OpenTelemetry's database conventions name it. */
function startQuerySpan(text: string): Span | undefined {
  if (!tracingEnabled()) return undefined;
  const operation = /^\s*(\w+)/.exec(text)?.[1]?.toUpperCase();
  return tracer().startSpan(`db ${operation ?? 'query'}`, {
    kind: SpanKind.CLIENT,
    attributes: {
      'db.system.name': 'postgresql',
      'db.query.text': text,
      ...(operation ? { 'db.operation.name': operation } : {}),
    },
  });
}

function settle(span: Span | undefined, release: (() => void) | undefined) {
  return (error?: unknown) => {
    if (span && error !== undefined) recordError(span, error);
    span?.end();
    release?.();
  };
}

/**
 * postgres.js with a span per statement and pool accounting. Its queries are lazy promises that
 * run when awaited, so the span ends in their `then`, without changing when they run.
 *
 * With `prepare`, every statement is a named prepared statement, parsed once per connection,
 * and PostgreSQL can keep its plan: drizzle asks for unnamed ones (parse and plan on every
 * execution) unless a query is explicitly prepared, which cost the hot reads more than running them.
 */
export function instrumentPostgres(sql: postgres.Sql, usage?: PoolUsage, prepare = false): postgres.Sql {
  return new Proxy(sql, {
    get(target, property, receiver) {
      if (property === 'unsafe') {
        return (text: string, params?: never[], options?: postgres.UnsafeQueryOptions) => {
          const query = target.unsafe(text, params, prepare ? { ...options, prepare: true } : options);
          const done = settle(startQuerySpan(text), usage?.acquire());
          const then = query.then.bind(query);
          // defineProperty returns the query itself, a thenable nobody needs to await here.
          void Object.defineProperty(query, 'then', {
            value: (onResolved?: (v: unknown) => unknown, onRejected?: (e: unknown) => unknown) =>
              then(
                (value) => {
                  done();
                  return onResolved ? onResolved(value) : value;
                },
                (error: unknown) => {
                  done(error);
                  if (onRejected) return onRejected(error);
                  throw error;
                },
              ),
          });
          return query;
        };
      }
      if (property === 'begin' || property === 'savepoint') {
        return async (...args: unknown[]) => {
          const work = args.pop() as (tx: postgres.Sql) => unknown;
          const release = property === 'begin' ? usage?.acquire() : undefined;
          try {
            const run = Reflect.get(target, property, receiver) as (...a: unknown[]) => Promise<unknown>;
            return await run.call(target, ...args, (tx: postgres.Sql) =>
              work(instrumentPostgres(tx, undefined, prepare)),
            );
          } finally {
            release?.();
          }
        };
      }
      return Reflect.get(target, property, receiver) as unknown;
    },
  });
}

type PgliteLike = Pick<PGlite, 'query' | 'exec'> & Partial<Pick<PGlite, 'transaction'>>;

/** PGlite (one connection) with a span per statement and pool accounting. */
export function instrumentPglite<T extends PgliteLike>(client: T, usage?: PoolUsage): T {
  return new Proxy(client, {
    get(target, property) {
      if (property === 'query' || property === 'exec') {
        return async (text: string, ...rest: unknown[]) => {
          const done = settle(startQuerySpan(text), usage?.acquire());
          try {
            const run = target[property] as (...a: unknown[]) => Promise<unknown>;
            const result = await run.call(target, text, ...rest);
            done();
            return result;
          } catch (error) {
            done(error);
            throw error;
          }
        };
      }
      if (property === 'transaction') {
        return async (work: (tx: PgliteTransaction) => Promise<unknown>) => {
          const release = usage?.acquire();
          try {
            return await target.transaction!((tx) => work(instrumentPglite(tx)));
          } finally {
            release?.();
          }
        };
      }
      const value = Reflect.get(target, property, target) as unknown;
      // PGlite keeps private fields: its methods must run on the instance itself.
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
}
