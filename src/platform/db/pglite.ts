import { mkdirSync } from 'node:fs';
import { PGlite } from '@electric-sql/pglite';
import { pg_trgm } from '@electric-sql/pglite/contrib/pg_trgm';
import { drizzle as drizzlePglite } from 'drizzle-orm/pglite';
import { toDriverValue, type DatabaseHandle } from './client.js';
import { trackCommits } from './commit-hooks.js';
import { instrumentPglite, PoolUsage } from './instrument.js';

/** The embedded database: PGlite in a directory, one connection. */
export async function openPglite(dir: string): Promise<DatabaseHandle> {
  mkdirSync(dir, { recursive: true });
  const client = await PGlite.create({ dataDir: dir, extensions: { pg_trgm } });
  return pgliteHandle(client);
}

/** Wraps an already open PGlite instance (tests pass one cloned from a migrated template). */
export function pgliteHandle(client: PGlite): DatabaseHandle {
  // One connection: everything else waits for it.
  const pool = new PoolUsage(1);
  const db = trackCommits(drizzlePglite({ client: instrumentPglite(client, pool) }));
  let closed = false;
  return {
    kind: 'pglite',
    db,
    read: db,
    pool,
    bossConnection: {
      db: {
        // pg-boss sends multi-statement DDL without parameters; PGlite needs exec() for those.
        async executeSql(text, values) {
          if (values && values.length > 0) {
            const result = await client.query(text, values.map(toDriverValue));
            return { rows: result.rows };
          }
          const results = await client.exec(text);
          return { rows: results.at(-1)?.rows ?? [] };
        },
      },
    },
    ping: async () => {
      await client.query('select 1');
    },
    close: async () => {
      if (closed) return;
      closed = true;
      await client.close();
    },
  };
}
