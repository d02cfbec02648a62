import { inArray, sql, type AnyColumn, type SQL } from 'drizzle-orm';
import type { Executor } from './client.js';

interface Statement<P, R> {
  execute(params: P): Promise<R>;
}

/** The drivers' session and prepared query (postgres.js and PGlite) both run on `client`. */
interface OnClient {
  client: unknown;
}

/**
 * A statement whose SQL drizzle builds once per process, instead of on every call, and that
 * runs on any executor: the pool, an open transaction or a savepoint. `build` writes the
 * statement with `sql.placeholder(<name>)` for each parameter and returns its `.prepare(<name>)`.
 *
 * Building is not free: drizzle walks every column and condition of the query to write its
 * text, ~40–200 µs of CPU per statement. On the hottest reads (authentication runs two on every
 * request) and on checkout (a dozen statements in one transaction) that was a fifth to a quarter
 * of the server's work. A built statement holds the client of the handle it was built on; a
 * call on another handle runs a copy bound to that handle's client (its connection, or its
 * transaction), so the statement joins the caller's transaction exactly like a query built there.
 *
 * A placeholder given as a column's value in `.values()` or `.set()` is encoded by that column,
 * as a value there would be (never pass it null where the column's encoder cannot take null:
 * timestamps). Inside a `sql` template, or in `where`, it goes to the driver as it is: write
 * JSON as `sql\`${sql.placeholder('x')}::jsonb\`` with `JSON.stringify` text, times as ISO text
 * with `::timestamptz`.
 */
export function prepared<P extends Record<string, unknown>, R>(
  build: (db: Executor) => Statement<P, R>,
): (db: Executor, params: P) => Promise<R> {
  // One per driver: a process may hold PGlite and PostgreSQL handles (tests do).
  const built = new Map<unknown, Statement<P, R>>();
  // Async: a statement that cannot be built rejects like one that fails to run.
  return async (db, params) => {
    const session = sessionOf(db);
    let statement = built.get(session.constructor);
    if (!statement) {
      statement = build(db);
      built.set(session.constructor, statement);
    }
    return boundTo(statement, session.client).execute(params);
  };
}

/**
 * `prepared` for statements whose text depends on a count, such as a multi-row insert: one
 * statement per count up to `max`, built afresh on each call above it.
 */
export function preparedPerCount<P extends Record<string, unknown>, R>(
  max: number,
  build: (db: Executor, count: number) => Statement<P, R>,
): (db: Executor, count: number, params: P) => Promise<R> {
  const perCount = Array.from({ length: max + 1 }, (_, count) => prepared((db) => build(db, count)));
  return (db, count, params) =>
    count <= max ? perCount[count]!(db, params) : build(db, count).execute(params);
}

/**
 * `prepared` for a statement over a list of uuids: `column in ($1, …, $n)`, one statement per
 * count of ids up to `max`, and `column = any($1::uuid[])` above it. `build` writes the condition
 * with `where(…)` and names the statement with `name` in it.
 *
 * PostgreSQL plans a statement with an array parameter afresh on every execution: its generic
 * plan is costed for an array of unknown length, so it never looks cheaper than a plan for the
 * array at hand. With one placeholder per id the generic plan is the custom one, and PostgreSQL
 * keeps it after five executions. Reading an order's variants was planned on every order: 0.37 ms
 * of the 2.1–2.5 ms of CPU PostgreSQL spent per order.
 */
export function preparedForIds<R>(
  max: number,
  build: (
    db: Executor,
    where: (column: AnyColumn) => SQL,
    name: string,
  ) => Statement<Record<string, unknown>, R>,
): (db: Executor, ids: readonly string[]) => Promise<R> {
  const placeholders = (count: number) => Array.from({ length: count }, (_, i) => sql.placeholder(`id${i}`));
  const perCount = preparedPerCount(max, (db, count) =>
    build(db, (column) => inArray(column, placeholders(count)), String(count)),
  );
  const many = prepared((db) =>
    build(db, (column) => sql`${column} = any(${sql.placeholder('ids')}::uuid[])`, 'many'),
  );
  return (db, ids) =>
    ids.length <= max
      ? perCount(db, ids.length, Object.fromEntries(ids.map((id, i) => [`id${i}`, id])))
      : many(db, { ids });
}

function sessionOf(db: Executor): OnClient & { constructor: unknown } {
  return db._.session as unknown as OnClient & { constructor: unknown };
}

function boundTo<S extends object>(statement: S, client: unknown): S {
  if ((statement as unknown as OnClient).client === client) return statement;
  const bound = Object.create(statement) as S & OnClient;
  bound.client = client;
  return bound;
}
