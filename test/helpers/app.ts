import { randomBytes } from 'node:crypto';
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { InjectOptions, LightMyRequestResponse } from 'fastify';
import postgres from 'postgres';
import { inject } from 'vitest';
import { buildBazaar, type Bazaar } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import type { Logger } from '../../src/platform/observability/logger.js';
import { baseEnv, testDatabaseUrl, withDatabase } from './env.js';

export interface TestAppOptions {
  /** Consume jobs in this process (mail delivery, event handlers). */
  work?: boolean;
  /**
   * Listen on 127.0.0.1 on a free port (for real HTTP clients). PORT and PUBLIC_URL are set to it
   * before the app is built, so links and the test gateway's webhooks point at this server.
   */
  listen?: boolean;
  env?: Record<string, string | undefined>;
  /** A logger of the test's own (e.g. to inspect log lines). */
  logger?: Logger;
  /** Runs after the app is built, before jobs start and routes are sealed: subscribe test handlers, add test routes. */
  setup?: (bazaar: Bazaar) => void | Promise<void>;
}

export interface TestApp {
  bazaar: Bazaar;
  /** Base URL when started with `listen: true`. */
  url: string;
  dataDir: string;
  request(options: InjectOptions): Promise<LightMyRequestResponse>;
  /** JSON request helper: `api('POST', '/api/v1/auth/login', body, token)`. */
  api(
    method: InjectOptions['method'],
    url: string,
    body?: unknown,
    token?: string,
    headers?: Record<string, string>,
  ): Promise<ApiResponse>;
  close(): Promise<void>;
}

export interface ApiResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  // Tests read arbitrary response bodies; the envelope is asserted, not typed.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  body: any;
  raw: string;
}

/** A fresh, migrated Bazaar on its own database copy (PGlite or PostgreSQL, as the run is set up). */
export async function createTestApp(options: TestAppOptions = {}): Promise<TestApp> {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'bazaar-test-'));
  let dropDatabase: (() => Promise<void>) | undefined;
  const env: Record<string, string | undefined> = {
    DATA_DIR: dataDir,
    REDIS_KEY_PREFIX: `test:${randomBytes(6).toString('hex')}:`,
    ...options.env,
  };

  if (testDatabaseUrl) {
    const name = `bazaar_t_${randomBytes(6).toString('hex')}`;
    await withAdmin(testDatabaseUrl, (sql) =>
      sql.unsafe(`create database "${name}" template "${inject('postgresTemplate')}"`),
    );
    env.DATABASE_URL = withDatabase(testDatabaseUrl, name);
    env.DATABASE_POOL_SIZE = '20';
    dropDatabase = () =>
      withAdmin(testDatabaseUrl!, (sql) => sql.unsafe(`drop database if exists "${name}" with (force)`)).then(
        () => undefined,
      );
  } else {
    cpSync(inject('pgliteTemplate'), dataDir, { recursive: true });
  }

  let port: number | undefined;
  if (options.listen) {
    port = env.PORT ? Number(env.PORT) : await freePort();
    env.PORT = String(port);
    env.PUBLIC_URL ??= `http://127.0.0.1:${port}`;
  }

  const config = loadConfig(baseEnv(env));
  const bazaar = await buildBazaar(config, { logger: options.logger });
  await options.setup?.(bazaar);
  await bazaar.startJobs(options.work ?? false);
  let url = '';
  if (port !== undefined) {
    url = await bazaar.http.listen({ port, host: '127.0.0.1' });
  } else {
    await bazaar.http.ready();
  }

  const request = (opts: InjectOptions) => bazaar.http.inject(opts);
  return {
    bazaar,
    url,
    dataDir,
    request,
    async api(method, url, body, token, headers = {}) {
      const response = await request({
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
        headers: response.headers as ApiResponse['headers'],
        body: parse(response.body),
        raw: response.body,
      };
    },
    async close() {
      await bazaar.stop();
      await dropDatabase?.();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** A port nobody listens on right now (the kernel's pick), so the app can know its URL before it starts. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

function parse(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

async function withAdmin<T>(url: string, work: (sql: postgres.Sql) => Promise<T>): Promise<T> {
  const sql = postgres(url, { max: 1, onnotice: () => undefined });
  try {
    return await work(sql);
  } finally {
    await sql.end();
  }
}

/** Polls `check` until it returns a value (not undefined), or fails after `timeoutMs`. */
export async function waitFor<T>(
  check: () => Promise<T | undefined> | T | undefined,
  timeoutMs = 15_000,
  what = 'condition',
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Registers and signs in a new user; returns its tokens. */
export async function signUp(
  app: TestApp,
  overrides: { email?: string; password?: string; name?: string } = {},
) {
  const email = overrides.email ?? `user-${randomBytes(4).toString('hex')}@example.com`;
  const password = overrides.password ?? `Correct-Horse-${randomBytes(4).toString('hex')}`;
  const response = await app.api('POST', '/api/v1/auth/register', {
    email,
    password,
    name: overrides.name ?? 'Test User',
  });
  if (response.status !== 201) throw new Error(`sign-up failed: ${response.status} ${response.raw}`);
  return {
    email,
    password,
    userId: response.body.data.user.id as string,
    accessToken: response.body.data.access_token as string,
    refreshToken: response.body.data.refresh_token as string,
  };
}

/** Creates an admin directly (the first-start path) and signs in. */
export async function signInAdmin(app: TestApp) {
  const email = `admin-${randomBytes(4).toString('hex')}@example.com`;
  const password = `Admin-Password-${randomBytes(6).toString('hex')}`;
  await app.bazaar.auth.createAdminIfMissing(app.bazaar.systemContext(), email, password);
  const login = await app.api('POST', '/api/v1/auth/login', { email, password });
  if (login.status !== 200) throw new Error(`admin login failed: ${login.status} ${login.raw}`);
  return { email, password, accessToken: login.body.data.access_token as string };
}
