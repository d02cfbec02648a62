import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminApiTypes } from '../scripts/admin-api-types.js';
import { createTestApp, type TestApp } from './helpers/app.js';

let app: TestApp;
beforeAll(async () => {
  app = await createTestApp();
});
afterAll(() => app.close());

describe('the admin dashboard’s API types', () => {
  it('match the OpenAPI document the server serves (regenerate with npm run generate:admin-api)', async () => {
    const doc = await app.api('GET', '/api/v1/openapi.json');
    const committed = readFileSync(path.resolve('admin', 'src', 'api', 'schema.d.ts'), 'utf8');
    expect(await adminApiTypes(doc.body)).toBe(committed);
  });
});
