/** Writes the OpenAPI document of the current code to a file (used by `npm run check:openapi`). */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { buildBazaar } from '../src/app.js';
import { loadConfig } from '../src/config.js';

const out = process.argv[2] ?? '.openapi/openapi.json';
const dataDir = mkdtempSync(path.join(os.tmpdir(), 'bazaar-openapi-'));
try {
  const bazaar = await buildBazaar(
    loadConfig({
      DATA_DIR: dataDir,
      LOG_LEVEL: 'silent',
      SEED_DEMO_DATA: 'false',
      PUBLIC_URL: 'https://bazaar.example.com',
    }),
  );
  await bazaar.http.ready();
  mkdirSync(path.dirname(out), { recursive: true });
  writeFileSync(out, `${JSON.stringify(bazaar.http.swagger(), null, 2)}\n`);
  await bazaar.stop();
  console.log(`OpenAPI document written to ${out}`);
} finally {
  rmSync(dataDir, { recursive: true, force: true });
}
