import type { Database, Tx } from './client.js';

/** Runs after a transaction commits. Must not throw: the caller's data is committed by then. */
export type CommitHook = () => void;

const hooksOf = new WeakMap<Tx, CommitHook[]>();

/**
 * Makes `onCommit` work in every transaction opened on `db`, and in the savepoints inside them:
 * hooks run once the outermost transaction has committed, before `db.transaction` returns. A
 * savepoint that rolls back takes its hooks with it, as it takes its writes.
 */
export function trackCommits(db: Database): Database {
  const begin = db.transaction.bind(db);
  db.transaction = async (work, config) => {
    const hooks: CommitHook[] = [];
    const result = await begin((tx) => work(tracked(tx, hooks)), config);
    for (const hook of hooks) hook();
    return result;
  };
  return db;
}

function tracked(tx: Tx, hooks: CommitHook[]): Tx {
  hooksOf.set(tx, hooks);
  const savepoint = tx.transaction.bind(tx);
  tx.transaction = async (work) => {
    const inner: CommitHook[] = [];
    const result = await savepoint((sp) => work(tracked(sp, inner)));
    hooks.push(...inner);
    return result;
  };
  return tx;
}

/**
 * Runs `hook` after `tx` commits, never after a rollback. Returns false (and never runs it) when
 * `tx` was not opened on a handle passed through `trackCommits`.
 */
export function onCommit(tx: Tx, hook: CommitHook): boolean {
  const hooks = hooksOf.get(tx);
  hooks?.push(hook);
  return hooks !== undefined;
}
