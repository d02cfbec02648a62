import type { Cache } from './cache/cache.js';
import type { Executor, Tx } from './db/client.js';

/** Who is acting: a signed-in user, an OAuth API client, or nobody. */
export interface Actor {
  kind: 'user' | 'client';
  id: string;
  roles: string[];
  permissions: ReadonlySet<string>;
  /** The sign-in session behind a user's access token. */
  sessionId?: string;
}

/** Passed as the first argument to every service function; never a global. */
export interface Context {
  requestId: string;
  actor: Actor | null;
  ip: string;
  userAgent?: string;
  db: Executor;
  /** The app's read cache; writes invalidate what they change through it (see `afterCommit`). */
  cache?: Cache;
}

/** A context for work that no HTTP request started (CLI, worker, startup). */
export function systemContext(db: Executor, requestId = 'system', cache?: Cache): Context {
  return { requestId, actor: null, ip: '127.0.0.1', db, cache };
}

type AfterCommitTask = () => Promise<void>;

/** A context whose database handle is an open transaction. */
export interface TxContext extends Context {
  db: Tx;
  /** Work for after the outermost transaction commits; set by `inTransaction`. */
  afterCommit?: AfterCommitTask[];
  /** Statements sent and not yet awaited (see `beforeCommit`); set by `inTransaction`. */
  unsettled?: Promise<unknown>[];
}

/**
 * Runs `work` in one transaction (or joins the caller's) with a context carrying it. The
 * outermost call runs the `afterCommit` tasks once the transaction has committed, before it
 * returns: so a caller that answers after it never answers before, say, the cache forgot what
 * the transaction changed.
 */
export async function inTransaction<T>(ctx: Context, work: (tx: TxContext) => Promise<T>): Promise<T> {
  if (isTx(ctx.db)) return work(ctx as TxContext);
  const tasks: AfterCommitTask[] = [];
  const result = await ctx.db.transaction(async (tx) => {
    const unsettled: Promise<unknown>[] = [];
    let outcome: { value: T } | { error: unknown };
    try {
      outcome = { value: await work({ ...ctx, db: tx, afterCommit: tasks, unsettled }) };
    } catch (error) {
      outcome = { error };
    }
    // Every write sent is settled before the COMMIT or ROLLBACK goes out, including writes sent
    // while waiting; the first failure, of the work or of a write, rolls the transaction back.
    while (unsettled.length > 0) {
      const settled = await Promise.allSettled(unsettled.splice(0));
      const failed = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
      if (failed && 'value' in outcome) outcome = { error: failed.reason };
    }
    if ('error' in outcome) throw outcome.error;
    return outcome.value;
  });
  for (const task of tasks) await task();
  return result;
}

/**
 * Sends a write whose result the caller does not need yet: the transaction of `ctx` waits for it
 * before committing, and its failure rolls the transaction back exactly as if it had been
 * awaited here. Meanwhile the caller goes on, so the write shares a round trip with what the
 * transaction sends next instead of costing one of its own. Outside a transaction opened by
 * `inTransaction`, the write is simply awaited.
 */
export async function beforeCommit(ctx: Context, write: Promise<unknown>): Promise<void> {
  const unsettled = (ctx as TxContext).unsettled;
  if (!isTx(ctx.db) || !unsettled) {
    await write;
    return;
  }
  // Its failure is reported by the commit; until then it must not count as unhandled.
  write.catch(() => undefined);
  unsettled.push(write);
}

/**
 * `Promise.all` for statements sent together in one transaction: waits for every one of them
 * before throwing the first failure. A step that starts after another settles (`.then`) must
 * not be left running when the transaction is rolled back, or it would be sent after it ended.
 */
export async function allOf<T extends readonly Promise<unknown>[]>(
  steps: readonly [...T],
): Promise<{ -readonly [K in keyof T]: Awaited<T[K]> }> {
  const settled = await Promise.allSettled(steps);
  const failed = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
  if (failed) throw failed.reason;
  return settled.map((s) => (s as PromiseFulfilledResult<unknown>).value) as {
    -readonly [K in keyof T]: Awaited<T[K]>;
  };
}

/**
 * Runs `task` after the transaction of `ctx` commits (at once when `ctx` is outside a
 * transaction), never after a rollback. Tasks must not throw: the data is committed by then.
 */
export async function afterCommit(ctx: Context, task: AfterCommitTask): Promise<void> {
  if (!isTx(ctx.db)) return task();
  const tasks = (ctx as TxContext).afterCommit;
  if (!tasks) throw new Error('afterCommit needs a transaction opened by inTransaction.');
  tasks.push(task);
}

function isTx(db: Executor): db is Tx {
  return 'rollback' in db;
}
