import type { Executor } from './client.js';

interface Statement<P, R> {
  execute(params: P): Promise<R>;
}

/**
 * A statement whose SQL drizzle builds once per database handle, instead of on every call.
 * Building is not free: drizzle walks every column and condition of the query to write its text,
 * ~40–70 µs of CPU for a select of a whole row, which on the hottest reads (authentication runs
 * two on every request) was a quarter of the server's work. `build` writes the statement with
 * `sql.placeholder(<name>)` for each parameter and returns its `.prepare(<name>)`.
 *
 * A transaction is a handle of its own (it is prepared again for each), so this pays off for
 * statements that run on the pool. The statement stays a named prepared statement on every
 * connection, as all queries are (see instrument.ts).
 */
export function preparedPerHandle<P extends Record<string, unknown>, R>(
  build: (db: Executor) => Statement<P, R>,
): (db: Executor, params: P) => Promise<R> {
  const prepared = new WeakMap<Executor, Statement<P, R>>();
  return (db, params) => {
    let statement = prepared.get(db);
    if (!statement) {
      statement = build(db);
      prepared.set(db, statement);
    }
    return statement.execute(params);
  };
}
