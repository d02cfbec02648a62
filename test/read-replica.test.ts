import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildBazaar, type Bazaar } from '../src/app.js';
import { loadConfig } from '../src/config.js';
import { signUp, waitFor, type TestApp } from './helpers/app.js';
import { skipWithout, startPrimary, startStandby, type PostgresInstance } from './helpers/cluster.js';
import { baseEnv, testDatabaseUrl } from './helpers/env.js';

/**
 * DATABASE_READ_URL against a real streaming replica: a primary and a `pg_basebackup -R` standby
 * started by the test. Storefront browsing reads the standby; writes and reads of one's own
 * writes stay on the primary, even while the standby's replay is paused (replica lag).
 */
describe.skipIf(!testDatabaseUrl || skipWithout('initdb', 'pg_ctl', 'pg_basebackup'))(
  'read replica (DATABASE_READ_URL) on a streaming standby',
  () => {
    let primary: PostgresInstance;
    let standby: PostgresInstance;
    let bazaar: Bazaar;
    let replica: postgres.Sql;
    let app: Pick<TestApp, 'api' | 'bazaar'>;
    const dataDir = mkdtempSync(path.join(os.tmpdir(), 'bazaar-replica-'));

    beforeAll(async () => {
      primary = await startPrimary();
      const admin = postgres(primary.url(), { max: 1, onnotice: () => undefined });
      await admin.unsafe('create database bazaar');
      await admin.end();
      standby = await startStandby(primary);
      bazaar = await buildBazaar(
        loadConfig(
          baseEnv({
            DATA_DIR: dataDir,
            DATABASE_URL: primary.url('bazaar'),
            DATABASE_READ_URL: standby.url('bazaar'),
            // Cached catalog entries are loaded from the primary (ADR 0005); with the catalog
            // cache off, every storefront read goes to the standby, which is what this test watches.
            CACHE_TTL_CATALOG: '0',
            REDIS_KEY_PREFIX: `test:replica:${randomBytes(6).toString('hex')}:`,
          }),
        ),
      );
      await bazaar.startJobs(false);
      await bazaar.http.ready();
      replica = postgres(standby.url('bazaar'), { max: 1, onnotice: () => undefined });
      app = {
        bazaar,
        async api(method, url, body, token, headers = {}) {
          const response = await bazaar.http.inject({
            method,
            url,
            headers: {
              ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
              ...(token ? { authorization: `Bearer ${token}` } : {}),
              ...headers,
            },
            ...(body !== undefined ? { payload: JSON.stringify(body) } : {}),
          });
          return {
            status: response.statusCode,
            headers: response.headers as Record<string, string>,
            body: JSON.parse(response.body) as unknown,
            raw: response.body,
          };
        },
      };
    }, 120_000);

    afterAll(async () => {
      await replica?.unsafe('select pg_wal_replay_resume()').catch(() => undefined);
      await replica?.end();
      await bazaar?.stop();
      await standby?.stop();
      await primary?.stop();
      rmSync(dataDir, { recursive: true, force: true });
      for (const instance of [standby, primary]) {
        if (instance) rmSync(path.dirname(instance.dataDir), { recursive: true, force: true });
      }
    });

    async function createProduct(token: string, title: string): Promise<{ id: string; variantId: string }> {
      const res = await app.api(
        'POST',
        '/api/v1/products',
        {
          title,
          status: 'active',
          variants: [
            {
              sku: `REPL-${randomBytes(4).toString('hex')}`.toUpperCase(),
              price: { amount: 900, currency: 'USD' },
              initial_stock: 10,
            },
          ],
        },
        token,
      );
      expect(res.status, res.raw).toBe(201);
      return { id: res.body.data.id, variantId: res.body.data.variants[0].id };
    }

    it('reads the catalog from the standby, and writes plus read-your-own-write from the primary while replay is paused', async () => {
      const [recovery] = await replica<{ on: boolean }[]>`select pg_is_in_recovery() as on`;
      expect(recovery!.on).toBe(true);

      const email = `owner-${randomBytes(4).toString('hex')}@example.com`;
      const password = `Replica-Password-${randomBytes(4).toString('hex')}`;
      await bazaar.auth.createAdminIfMissing(bazaar.systemContext(), email, password);
      const login = await app.api('POST', '/api/v1/auth/login', { email, password });
      const admin = login.body.data.access_token as string;

      const first = await createProduct(admin, 'Replicated lamp');
      await waitFor(
        async () =>
          (await app.api('GET', `/api/v1/products/${first.id}`)).status === 200 ? true : undefined,
        20_000,
        'the product on the standby',
      );
      // The storefront's connections are on the standby, under their own application name.
      const [reading] = await replica<{ readers: number }[]>`
        select count(*)::int as readers from pg_stat_activity where application_name = 'bazaar-read'`;
      expect(reading!.readers).toBeGreaterThan(0);

      // Replica lag: the standby stops replaying WAL.
      await replica.unsafe('select pg_wal_replay_pause()');
      await waitFor(
        async () => {
          const [row] = await replica<{ state: string }[]>`select pg_get_wal_replay_pause_state() as state`;
          return row!.state === 'paused' ? true : undefined;
        },
        10_000,
        'replay paused',
      );

      const second = await createProduct(admin, 'Lagging lamp');
      // Browsing reads the standby, which has not seen it yet …
      expect((await app.api('GET', `/api/v1/products/${second.id}`)).status).toBe(404);
      const listed = await app.api('GET', '/api/v1/products?q=lamp');
      expect(listed.body.data.map((p: { id: string }) => p.id)).toEqual([first.id]);
      // … while the admin's own view, on the primary, has it.
      expect((await app.api('GET', `/api/v1/admin/products/${second.id}`, undefined, admin)).status).toBe(
        200,
      );

      // A customer's own writes read back at once: the order just placed, the profile just changed.
      const customer = await signUp(app as TestApp);
      const order = await app.api(
        'POST',
        '/api/v1/orders',
        {
          items: [{ variant_id: first.variantId, quantity: 1 }],
          email: customer.email,
          shipping_address: {
            name: 'Rita Replica',
            line1: '3 Standby Street',
            city: 'Springfield',
            postal_code: '12345',
            country: 'US',
          },
        },
        customer.accessToken,
        { 'idempotency-key': randomUUID() },
      );
      expect(order.status, order.raw).toBe(201);
      const readBack = await app.api(
        'GET',
        `/api/v1/orders/${order.body.data.id}`,
        undefined,
        customer.accessToken,
      );
      expect(readBack.status).toBe(200);
      expect(
        (await app.api('GET', '/api/v1/orders', undefined, customer.accessToken)).body.data,
      ).toHaveLength(1);
      const renamed = await app.api(
        'PATCH',
        '/api/v1/users/me',
        { name: 'Rita Renamed' },
        customer.accessToken,
      );
      expect(renamed.status).toBe(200);
      expect((await app.api('GET', '/api/v1/users/me', undefined, customer.accessToken)).body.data.name).toBe(
        'Rita Renamed',
      );
      // None of that reached the paused standby.
      const [onStandby] = await replica<{ n: number }[]>`select count(*)::int as n from orders`;
      expect(onStandby!.n).toBe(0);

      // Replay resumes; the storefront catches up.
      await replica.unsafe('select pg_wal_replay_resume()');
      await waitFor(
        async () =>
          (await app.api('GET', `/api/v1/products/${second.id}`)).status === 200 ? true : undefined,
        20_000,
        'the standby to catch up',
      );
    }, 60_000);
  },
);
