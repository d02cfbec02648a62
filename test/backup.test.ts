import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, signInAdmin, signUp, type TestApp } from './helpers/app.js';
import { testDatabaseUrl } from './helpers/env.js';
import { payThroughTestGateway } from './helpers/test-gateway.js';
import { createProduct, placeOrder } from './payments-helpers.js';

function bazaarCli(env: NodeJS.ProcessEnv, ...args: string[]) {
  return spawnSync(process.execPath, ['--import', 'tsx', 'src/main.ts', ...args], {
    env: { ...process.env, LOG_LEVEL: 'silent', ...env },
    encoding: 'utf8',
  });
}

describe.skipIf(testDatabaseUrl !== undefined)('bazaar backup on the embedded default', () => {
  it('refuses with advice instead of pretending', () => {
    const result = bazaarCli({ DATABASE_URL: '', DATA_DIR: os.tmpdir() }, 'backup');
    expect(result.status).toBe(64);
    expect(result.stderr).toMatch(/backup works on PostgreSQL .* copy or archive that directory/);
  });
});

/**
 * Every row of a table as one checksum: count and md5 over the rows' text, in a fixed order. Equal
 * before and after a restore means every row came back unchanged.
 */
async function fingerprint(sql: postgres.Sql) {
  const tables = await sql<{ name: string }[]>`
    select format('%I.%I', schemaname, tablename) as name from pg_tables
    where schemaname in ('public', 'pgboss', 'drizzle') order by 1`;
  const result: Record<string, string> = {};
  for (const { name } of tables) {
    const [row] = await sql.unsafe<{ n: string; md5: string | null }[]>(
      `select count(*) as n, md5(string_agg(t::text, '|' order by t::text)) as md5 from ${name} t`,
    );
    result[name] = `${row!.n}:${row!.md5 ?? ''}`;
  }
  return result;
}

describe.skipIf(testDatabaseUrl === undefined)('bazaar backup and restore on PostgreSQL', () => {
  let app: TestApp;
  const dir = mkdtempSync(path.join(os.tmpdir(), 'bazaar-backup-'));
  beforeAll(async () => {
    app = await createTestApp({ listen: true, work: true });
  });
  afterAll(async () => {
    await app.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('backs up a shop with orders, payments and outbox rows; after the database is dropped, restore brings every row back', async () => {
    const admin = await signInAdmin(app);
    const customer = await signUp(app);
    const { variantId } = await createProduct(app, admin.accessToken, { stock: 100 });
    const orders = [];
    for (let i = 0; i < 6; i += 1) orders.push(await placeOrder(app, customer.accessToken, variantId, 1));
    for (const order of orders.slice(0, 3)) await payThroughTestGateway(app, customer.accessToken, order.id);
    // Quiesce: no process writes while the reference fingerprint is taken.
    await app.bazaar.stop();

    const url = app.bazaar.config.DATABASE_URL!;
    const database = new URL(url).pathname.slice(1);
    const admin$ = postgres(testDatabaseUrl!, { max: 1, onnotice: () => undefined });
    const shop = postgres(url, { max: 1, onnotice: () => undefined });
    const before = await fingerprint(shop);
    await shop.end();
    expect(Number(before['public.orders']!.split(':')[0])).toBe(6);
    expect(Number(before['public.payments']!.split(':')[0])).toBe(3);
    expect(Number(before['pgboss.job']!.split(':')[0])).toBeGreaterThan(6);

    const file = path.join(dir, 'shop.dump');
    const backup = bazaarCli({ DATABASE_URL: url }, 'backup', file);
    expect(backup.status, backup.stderr).toBe(0);
    expect(backup.stdout).toMatch(/Backup written to .*shop\.dump \(\d+ bytes/);
    expect(existsSync(file)).toBe(true);

    await admin$.unsafe(`drop database "${database}" with (force)`);
    const restored = bazaarCli({ DATABASE_URL: url }, 'restore', file);
    expect(restored.status, restored.stderr).toBe(0);
    expect(restored.stdout).toMatch(/Restored .* into a newly created database/);

    console.info(`backup: ${backup.stdout.trim()} ${restored.stdout.trim().split('. Run')[0]}`);
    const again = postgres(url, { max: 1, onnotice: () => undefined });
    expect(await fingerprint(again)).toEqual(before);
    await again.end();

    // Over a database that has a shop already, restore asks for --clean instead of mixing data.
    const refused = bazaarCli({ DATABASE_URL: url }, 'restore', file);
    expect(refused.status).toBe(1);
    expect(refused.stderr).toMatch(/already holds a Bazaar schema.*--clean/);
    const replaced = bazaarCli({ DATABASE_URL: url }, 'restore', file, '--clean');
    expect(replaced.status, replaced.stderr).toBe(0);
    const cleaned = postgres(url, { max: 1, onnotice: () => undefined });
    expect(await fingerprint(cleaned)).toEqual(before);
    await cleaned.end();
    await admin$.end();
  }, 120_000);
});
