import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from './helpers/app.js';

/** The event catalogue in docs/system-design.md is checked against the code, so it cannot drift. */
describe('event catalogue', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await createTestApp();
  });
  afterAll(() => app.close());

  const rows = () => {
    const doc = readFileSync('docs/system-design.md', 'utf8');
    const table = /<!-- event-catalogue:start -->([\s\S]*?)<!-- event-catalogue:end -->/.exec(doc)![1]!;
    return table
      .split('\n')
      .filter((line) => line.startsWith('| `'))
      .map((line) => {
        const cells = line.split(' | ');
        const type = /`([\w.]+)`/.exec(cells[0]!)![1]!;
        const queues = [...cells[3]!.matchAll(/`([\w.-]+)`/g)].map((m) => m[1]!);
        return { type, queues: queues.filter((queue) => queue.startsWith(`${type}.`)).sort() };
      });
  };

  it('lists exactly the subscriptions the code makes', () => {
    const documented = Object.fromEntries(rows().map((row) => [row.type, row.queues]));
    const subscribed = app.bazaar.jobs.subscriptions();
    for (const [type, queues] of Object.entries(subscribed)) expect(documented[type], type).toEqual(queues);
    for (const [type, queues] of Object.entries(documented)) {
      if (queues.length > 0) expect(subscribed[type], type).toEqual(queues);
    }
  });

  it('lists every event type the code publishes, and no other', () => {
    const source = sourceFiles('src')
      .map((file) => readFileSync(file, 'utf8'))
      .join('\n');
    const published = new Set(
      [...source.matchAll(/(?:export const \w+ = |publish\([^,]+, )'([a-z_]+\.[a-z_.]+)'/g)].map(
        (m) => m[1]!,
      ),
    );
    const documented = rows().map((row) => row.type);
    for (const type of documented) expect(source, type).toContain(`'${type}'`);
    for (const type of ['user.registered', 'order.created', 'payment.succeeded', 'inventory.low_stock']) {
      expect(published.has(type), type).toBe(true);
    }
    expect(documented).toEqual([...new Set(documented)]);
  });
});

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { recursive: true })
    .map(String)
    .filter((file) => file.endsWith('.ts') && !file.endsWith('.test.ts') && !file.includes('test-gateway'))
    .map((file) => path.join(dir, file));
}
