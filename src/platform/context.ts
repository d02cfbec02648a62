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
}

/** A context for work that no HTTP request started (CLI, worker, startup). */
export function systemContext(db: Executor, requestId = 'system'): Context {
  return { requestId, actor: null, ip: '127.0.0.1', db };
}

/** A context whose database handle is an open transaction. */
export interface TxContext extends Context {
  db: Tx;
}

/** Runs `work` in one transaction (or joins the caller's) with a context carrying it. */
export async function inTransaction<T>(ctx: Context, work: (tx: TxContext) => Promise<T>): Promise<T> {
  if (isTx(ctx.db)) return work(ctx as TxContext);
  return ctx.db.transaction((tx) => work({ ...ctx, db: tx }));
}

function isTx(db: Executor): db is Tx {
  return 'rollback' in db;
}
