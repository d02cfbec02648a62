import { bazaarEnv, startBazaar } from './lib/bazaar.js';
import { loadSettings } from './lib/settings.js';
import { loadWith } from './lib/load.js';
const s = loadSettings();
const env = bazaarEnv(s, 'probe', JSON.parse(process.env.EXTRA ?? '{}'));
const b = await startBazaar(env, { port: 39991, worker: false, name: 'probe', profileDir: process.env.PROF });
try {
  for (const path of (process.env.PATHS ?? '/api/v1/products?per_page=20').split(' ')) {
    for (const c of [1, 10, 50]) {
      const r = await loadWith(
        b.url,
        { method: 'GET', path },
        { connections: c, seconds: 3, pid: b.server.pid },
      );
      console.log(path, c, r.req_per_s, r.latency_ms, r.usage, r.non_2xx);
    }
  }
} finally {
  await b.stop();
}
