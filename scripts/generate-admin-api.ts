/**
 * Regenerates admin/src/api/schema.d.ts, the dashboard's API types, from the OpenAPI document of
 * the current code. test/admin-api-types.test.ts fails when the committed file has drifted.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { adminApiTypes, openApiDocument } from './admin-api-types.js';

const out = path.join(import.meta.dirname, '..', 'admin', 'src', 'api', 'schema.d.ts');
writeFileSync(out, await adminApiTypes(await openApiDocument()));
console.log(`admin API types written to ${out}`);
