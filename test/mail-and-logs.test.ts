import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { createLogger } from '../src/platform/observability/logger.js';
import { createTestApp, signUp, waitFor } from './helpers/app.js';

describe('mail delivery', () => {
  const cleanup: (() => Promise<void>)[] = [];
  afterAll(async () => {
    for (const close of cleanup) await close();
  });

  it('writes .eml files to DATA_DIR/mail when no SMTP server is configured', async () => {
    const app = await createTestApp({ work: true });
    cleanup.push(() => app.close());
    const user = await signUp(app);
    const mailDir = path.join(app.dataDir, 'mail');
    const file = await waitFor(
      () => {
        try {
          return readdirSync(mailDir).find(
            (f) => f.endsWith('.eml') && readFileSync(path.join(mailDir, f), 'utf8').includes(user.email),
          );
        } catch {
          return undefined;
        }
      },
      20_000,
      'an .eml file',
    );
    expect(readFileSync(path.join(mailDir, file), 'utf8')).toMatch(/^Subject: Confirm your e-mail address/im);
  });
});

describe('logs', () => {
  it('are JSON with the request id and never contain passwords or tokens', async () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        lines.push(...chunk.toString().split('\n').filter(Boolean));
        done();
      },
    });
    const app = await createTestApp({ logger: createLogger('debug', sink) });
    try {
      const user = await signUp(app);
      const login = await app.api('POST', '/api/v1/auth/login', {
        email: user.email,
        password: user.password,
      });
      await app.api('POST', '/api/v1/auth/refresh', { refresh_token: login.body.data.refresh_token });
      await app.api('GET', '/api/v1/auth/me', undefined, login.body.data.access_token);
      await app.api('GET', `/api/v1/nope?token=${login.body.data.refresh_token}`);

      const records = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
      const completed = records.filter((r) => r.msg === 'request completed');
      expect(completed.length).toBeGreaterThanOrEqual(5);
      expect(completed.every((r) => typeof r.request_id === 'string' && typeof r.status === 'number')).toBe(
        true,
      );
      const all = lines.join('\n');
      for (const secret of [
        user.password,
        user.refreshToken,
        login.body.data.refresh_token,
        login.body.data.access_token,
      ]) {
        expect(all).not.toContain(secret);
      }
    } finally {
      await app.close();
    }
  });
});
