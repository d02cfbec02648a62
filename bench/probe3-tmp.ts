import { buildBazaar } from '../src/app.js';
import { loadConfig } from '../src/config.js';
import { bazaarEnv } from './lib/bazaar.js';
import { loadSettings } from './lib/settings.js';
const env = bazaarEnv(loadSettings(), 'probe3', { PORT: '0' });
const b = await buildBazaar(loadConfig(env as NodeJS.ProcessEnv));
await b.http.ready();
const t: number[] = [];
for (let i = 0; i < 200; i++) {
  const s = performance.now();
  const r = await b.http.inject({ method: 'GET', url: '/api/v1/products?per_page=20' });
  t.push(performance.now() - s);
  if (r.statusCode !== 200) console.log(r.statusCode);
}
t.sort((a, b) => a - b);
console.log('inject list p50', t[100], 'p90', t[180]);
await b.stop();
