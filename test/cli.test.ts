import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, waitFor } from './helpers/app.js';
import postgres from 'postgres';
import { testDatabaseUrl, withDatabase } from './helpers/env.js';
import { startSmtpCatcher, type SmtpCatcher } from './helpers/smtp.js';
import { confirmAtTestGateway, SUCCEEDING_CARD, type TestGatewayPayment } from './helpers/test-gateway.js';
import { expectReceiptWithInvoice, shippingAddress } from './payments-helpers.js';

/**
 * The `bazaar` command as `npm start`, the container and operators run it: the build in dist/
 * (one bundle, ADR 0013), rebuilt first if src/ is newer.
 */
const bazaar = ['dist/src/main.js'];
beforeAll(() => {
  const build = spawnSync(process.execPath, ['scripts/ensure-built.mjs'], { stdio: 'inherit' });
  expect(build.status).toBe(0);
}, 300_000);

/** `bazaar start` as a user runs it: a real process, its banner, its signals. */
describe.skipIf(testDatabaseUrl !== undefined)('bazaar CLI on the embedded default', () => {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'bazaar-cli-'));
  let child: ChildProcess | undefined;
  afterAll(() => {
    child?.kill('SIGKILL');
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('stops with one sentence naming a bad variable', () => {
    const result = spawnSync(process.execPath, [...bazaar, 'start'], {
      env: { ...process.env, PORT: 'http', DATABASE_URL: '' },
      encoding: 'utf8',
    });
    expect(result.status).toBe(78);
    expect(result.stderr).toMatch(/^Configuration error: PORT is invalid/m);
    expect(result.stderr).not.toMatch(/\n\s+at /);
  });

  it('starts, prints URLs and working admin credentials, and stops gracefully on SIGTERM', async () => {
    const port = await freePort();
    let output = '';
    child = spawn(process.execPath, [...bazaar, 'start'], {
      env: {
        ...process.env,
        DATA_DIR: dataDir,
        PORT: String(port),
        LOG_LEVEL: 'info',
        DATABASE_URL: '',
        REDIS_URL: '',
        SMTP_URL: '',
        NODE_ENV: 'development',
      },
    });
    child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));

    const banner = await waitFor(
      () => (/Admin\s+(\S+) \/ (\S+)/.exec(output) ? output : undefined),
      60_000,
      'the startup banner',
    );
    expect(banner).toContain(`http://localhost:${port}/docs`);
    expect(banner).toContain(`http://localhost:${port}/.well-known/jwks.json`);
    expect(banner).toMatch(/Embedded database .* for development/);
    const [, email, password] = /Admin\s+(\S+) \/ (\S+)/.exec(banner)!;

    const login = await fetch(`http://127.0.0.1:${port}/api/v1/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email, password }),
    });
    expect(login.status).toBe(200);
    const { data } = (await login.json()) as { data: { access_token: string } };
    const me = await fetch(`http://127.0.0.1:${port}/api/v1/auth/me`, {
      headers: { authorization: `Bearer ${data.access_token}` },
    });
    expect(((await me.json()) as { data: { roles: string[] } }).data.roles).toContain('admin');
    // First start on the embedded default also brings a demo catalog to browse.
    const products = (await (await fetch(`http://127.0.0.1:${port}/api/v1/products?per_page=5`)).json()) as {
      meta: { total: number };
    };
    expect(products.meta.total).toBeGreaterThanOrEqual(1000);
    expect((await fetch(`http://127.0.0.1:${port}/docs`)).status).toBeLessThan(400);
    // Text outside ASCII comes through the build intact (it is written as escapes in the bundle).
    const openapi = await (await fetch(`http://127.0.0.1:${port}/api/v1/openapi.json`)).text();
    expect(openapi).toContain('Puts the dead letter’s payload back on its handler queue');

    const exited = new Promise<number | null>((resolve) => child!.once('exit', (code) => resolve(code)));
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(output).toMatch(/shutting down/);
  }, 90_000);
});

/** The scale-out shape on PostgreSQL: migrate once, then API servers and workers as separate processes. */
describe.skipIf(testDatabaseUrl === undefined)('bazaar serve + worker apart on PostgreSQL', () => {
  const children: ChildProcess[] = [];
  const database = `bazaar_cli_${process.pid}`;
  let smtp: SmtpCatcher | undefined;
  afterAll(async () => {
    for (const child of children) child.kill('SIGKILL');
    await smtp?.close();
    const sql = postgres(testDatabaseUrl!, { max: 1, onnotice: () => undefined });
    await sql.unsafe(`drop database if exists "${database}" with (force)`);
    await sql.end();
  });

  it('migrates an empty database, seeds the admin, serves the API, and the worker delivers mail and a paid order’s receipt with its invoice', async () => {
    const sql = postgres(testDatabaseUrl!, { max: 1, onnotice: () => undefined });
    await sql.unsafe(`drop database if exists "${database}" with (force)`);
    await sql.unsafe(`create database "${database}"`);
    await sql.end();
    smtp = await startSmtpCatcher();
    const port = await freePort();
    const env = {
      ...process.env,
      DATABASE_URL: withDatabase(testDatabaseUrl!, database),
      SMTP_URL: smtp.url,
      PORT: String(port),
      PUBLIC_URL: `http://127.0.0.1:${port}`,
      BAZAAR_ADMIN_EMAIL: 'owner@example.com',
      BAZAAR_ADMIN_PASSWORD: 'Owner-Password-4242',
      LOG_LEVEL: 'info',
      DATA_DIR: mkdtempSync(path.join(os.tmpdir(), 'bazaar-cli-pg-')),
      // Redis outlives test runs: own counters, or earlier runs' forgot-password limits apply.
      REDIS_KEY_PREFIX: `test:cli:${process.pid}:${Date.now()}:`,
    };
    const run = (...args: string[]) =>
      spawnSync(process.execPath, [...bazaar, ...args], { env, encoding: 'utf8' });
    const migrated = run('migrate');
    expect(migrated.status, migrated.stderr).toBe(0);
    expect(migrated.stdout).toContain('Database migrated');
    const seeded = run('seed');
    expect(seeded.stdout).toContain('Admin account created: owner@example.com');
    expect(seeded.stdout).toMatch(/Demo catalog created: 1200 products, \d{4,} variants/);
    expect(run('seed').stdout).toContain('already exists');

    const start = (role: string) => {
      const child = spawn(process.execPath, [...bazaar, role], { env });
      let output = '';
      child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
      children.push(child);
      return { child, output: () => output };
    };
    const server = start('serve');
    const worker = start('worker');
    await waitFor(
      () => (server.output().includes('bazaar ready') ? true : undefined),
      60_000,
      'the API server',
    );
    await waitFor(() => (worker.output().includes('bazaar ready') ? true : undefined), 60_000, 'the worker');
    expect(server.output()).not.toContain('Embedded database');

    const login = await fetch(`http://127.0.0.1:${port}/api/v1/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: 'owner@example.com', password: 'Owner-Password-4242' }),
    });
    expect(login.status).toBe(200);
    // The API server only enqueues; the separate worker process delivers.
    const forgot = await fetch(`http://127.0.0.1:${port}/api/v1/auth/password/forgot`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: 'owner@example.com' }),
    });
    expect(forgot.status).toBe(202);
    const mail = await smtp.waitForMail('owner@example.com', (m) => /reset/i.test(m.subject), 30_000);
    expect(mail.text).toContain(`http://127.0.0.1:${port}/account/reset-password#token=`);

    // A paid order: the server takes the payment, the worker delivers the gateway's webhook,
    // renders the PDF invoice and mails the receipt with it.
    const api = async (
      method: string,
      path: string,
      body?: unknown,
      headers: Record<string, string> = {},
    ) => {
      const response = await fetch(`http://127.0.0.1:${port}${path}`, {
        method,
        headers: {
          authorization: `Bearer ${access}`,
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
          ...headers,
        },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      return { status: response.status, body: (await response.json()) as { data: unknown } };
    };
    const { access_token: access } = ((await login.json()) as { data: { access_token: string } }).data;
    const page = await api('GET', '/api/v1/products?per_page=20');
    const variant = (page.body.data as { variants: { id: string; available: number }[] }[])
      .flatMap((product) => product.variants)
      .find((v) => v.available > 0)!;
    const order = await api(
      'POST',
      '/api/v1/orders',
      {
        items: [{ variant_id: variant.id, quantity: 1 }],
        email: 'owner@example.com',
        shipping_address: shippingAddress,
      },
      { 'idempotency-key': randomUUID() },
    );
    expect(order.status).toBe(201);
    const { id: orderId, number: orderNumber } = order.body.data as { id: string; number: string };
    const payment = await api('POST', `/api/v1/orders/${orderId}/payments`, { gateway: 'test' });
    expect(payment.status).toBe(201);
    const confirmed = await confirmAtTestGateway(
      `http://127.0.0.1:${port}`,
      payment.body.data as TestGatewayPayment,
      SUCCEEDING_CARD,
    );
    expect(confirmed.status).toBe(200);
    await expectReceiptWithInvoice(smtp, `http://127.0.0.1:${port}`, access, {
      id: orderId,
      number: orderNumber,
      email: 'owner@example.com',
    });

    for (const { child } of [server, worker]) {
      const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
    }
  }, 120_000);
});
