import path from 'node:path';
import type { ExtractTablesWithRelations } from 'drizzle-orm';
import type { PgDatabase, PgQueryResultHKT, PgTransaction } from 'drizzle-orm/pg-core';
import { drizzle as drizzlePostgres } from 'drizzle-orm/postgres-js';
import postgres from 'postgres';
import { trackCommits } from './commit-hooks.js';
import { instrumentPostgres, PoolUsage } from './instrument.js';

/** The drizzle database: PGlite or PostgreSQL, same API. Modules write SQL against this type only. */
type NoSchema = Record<string, never>;
export type Database = PgDatabase<PgQueryResultHKT, NoSchema>;
/** An open transaction. Functions that must run inside the caller's transaction take this. */
export type Tx = PgTransaction<PgQueryResultHKT, NoSchema, ExtractTablesWithRelations<NoSchema>>;
/** Either: for reads that work inside or outside a transaction. */
export type Executor = Database | Tx;

/** pg-boss talks to the database through this shape (node-postgres' `query` result). */
export interface SqlRunner {
  executeSql(text: string, values?: unknown[]): Promise<{ rows: unknown[] }>;
}

export interface DatabaseHandle {
  readonly kind: 'pglite' | 'postgres';
  /** Its transactions take `onCommit` hooks (commit-hooks.ts). */
  readonly db: Database;
  /**
   * For read-only queries that tolerate replica lag (storefront browsing): the replica when
   * `DATABASE_READ_URL` is set, else the primary. Never for a read that must see the caller's own
   * write, and never inside a transaction.
   */
  readonly read: Database;
  /** A runner for pg-boss: PostgreSQL gets a connection string instead (pg-boss pools itself). */
  readonly bossConnection: { connectionString: string } | { db: SqlRunner };
  /** Connections this process' queries and transactions hold or wait for (for metrics). */
  readonly pool: PoolUsage;
  /**
   * PostgreSQL only: LISTEN on a connection of its own, re-established when it drops (then
   * `onListen` is called again); resolves once listening, to a function that stops. Behind
   * PgBouncer in transaction mode nothing arrives.
   */
  listen?(
    channel: string,
    onPayload: (payload: string) => void,
    onListen?: () => void,
  ): Promise<() => Promise<void>>;
  ping(): Promise<void>;
  close(): Promise<void>;
}

export interface DatabaseOptions {
  url?: string;
  /** A streaming replica for lag-tolerant reads (PostgreSQL only). */
  readUrl?: string;
  dataDir: string;
  poolSize: number;
  /** Named prepared statements; off behind PgBouncer in transaction mode (< 1.21). */
  prepare?: boolean;
}

export async function openDatabase(options: DatabaseOptions): Promise<DatabaseHandle> {
  if (options.url) return openPostgres(options.url, options);
  // PGlite (and its drizzle driver) load only for the embedded database.
  const { openPglite } = await import('./pglite.js');
  return openPglite(path.join(options.dataDir, 'db'));
}

function postgresClient(url: string, options: DatabaseOptions, applicationName: string) {
  return postgres(url, {
    max: options.poolSize,
    prepare: options.prepare ?? true,
    onnotice: () => undefined,
    connection: { application_name: applicationName },
  });
}

function openPostgres(url: string, options: DatabaseOptions): DatabaseHandle {
  const client = postgresClient(url, options, 'bazaar');
  const replica = options.readUrl ? postgresClient(options.readUrl, options, 'bazaar-read') : undefined;
  const pool = new PoolUsage(options.poolSize);
  const prepare = options.prepare ?? true;
  const db = trackCommits(drizzlePostgres({ client: instrumentPostgres(client, pool, prepare) }));
  // The replica's connections are its own pool; the gauges watch the primary's, the one writes wait on.
  const read = replica
    ? (drizzlePostgres({
        client: instrumentPostgres(replica, new PoolUsage(options.poolSize), prepare),
      }) as unknown as Database)
    : db;
  return {
    kind: 'postgres',
    db,
    read,
    pool,
    bossConnection: { connectionString: url },
    listen: async (channel, onPayload, onListen) => {
      const listening = await client.listen(channel, onPayload, onListen);
      return () => listening.unlisten();
    },
    ping: async () => {
      await client`select 1`;
      if (replica) await replica`select 1`;
    },
    close: async () => {
      await Promise.all([client.end({ timeout: 5 }), replica?.end({ timeout: 5 })]);
    },
  };
}

/** Values as node-postgres would send them: undefined → null, plain objects → JSON text; arrays stay arrays. */
export function toDriverValue(value: unknown): unknown {
  if (value === undefined) return null;
  if (
    value !== null &&
    typeof value === 'object' &&
    !Array.isArray(value) &&
    !(value instanceof Date) &&
    !Buffer.isBuffer(value)
  ) {
    return JSON.stringify(value);
  }
  return value;
}

/**
 * A SqlRunner that executes through the transaction's own session, so pg-boss jobs are inserted
 * atomically with the caller's writes (the transactional outbox).
 */
export function transactionRunner(tx: Tx): SqlRunner {
  return {
    async executeSql(text, values = []) {
      const query = tx._.session.prepareQuery(
        { sql: text, params: values.map(toDriverValue) },
        undefined,
        undefined,
        false,
      );
      const result = await query.execute();
      return { rows: Array.isArray(result) ? result : (result as { rows: unknown[] }).rows };
    },
  };
}

/** Rows of a raw `db.execute`: postgres.js answers an array, PGlite `{ rows }`. */
export function rowsOf<T>(result: unknown): T[] {
  return (Array.isArray(result) ? result : (result as { rows: T[] }).rows) as T[];
}
