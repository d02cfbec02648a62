// `npm run build` (server part): bundles src/main.ts and the dependencies it loads at start-up
// with esbuild (ADR 0013). dist/src/main.js, the `bazaar` command, is src/entry.ts: it turns on
// Node's compile cache where there is one, then loads the bundle (a chunk under dist/src/chunks).
// Type checking is `npm run typecheck`'s job.
import { build } from 'esbuild';
import { readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

/**
 * Dependencies left in node_modules and loaded by Node as they are:
 * - loaded lazily, on first use, so a process that never uses them never reads them;
 * - native, or reading files that sit beside their own code (`__dirname`, static assets);
 * - loaded again from node_modules by a lazily loaded package (one copy of the OpenTelemetry API).
 */
const external = [
  // lazily loaded: the embedded database, password hashing, PDF invoices, mail, Stripe, the tracing SDK
  '@electric-sql/pglite',
  '@node-rs/argon2',
  'pdfkit',
  'nodemailer',
  'stripe',
  '@opentelemetry/*',
  // read files beside their code: the API docs' assets and package.json, ioredis' package.json
  '@fastify/swagger',
  '@fastify/swagger-ui',
  'ioredis',
  // starts worker threads by file name for its transports
  'pino',
];

/**
 * The bundle runs on Node.js. pg asks at import whether it runs on Cloudflare Workers, and on
 * Node.js 20, which has no `navigator`, finds out by making a `Response`: that loads Node's whole
 * fetch implementation, about 30 ms of every start-up. Here the answer is given.
 */
const nodeRuntime = {
  name: 'node-runtime',
  setup(build) {
    build.onLoad({ filter: /[\\/]node_modules[\\/]pg[\\/]lib[\\/]stream\.js$/ }, async (args) => {
      const source = await readFile(args.path, 'utf8');
      const check = 'function isCloudflareRuntime() {';
      if (!source.includes(check)) throw new Error(`${args.path}: ${check} not found; update the build`);
      return { contents: source.replace(check, `${check}\n  return false;`), loader: 'js' };
    });
  },
};

/**
 * esbuild writes every non-ASCII character of code as an escape, but copies comments as they are.
 * One such character in a chunk makes Node decode all of it as UTF-8 and V8 keep its source as a
 * two-byte string: twice the memory (9.4 MB for the main chunk) and about 20 ms more at start-up.
 * So the characters left, all in comments, become `?` (one per UTF-16 unit: columns stay put).
 */
function asciiOnly(dir) {
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (!entry.isFile() || !entry.name.endsWith('.js')) continue;
    const file = join(entry.parentPath, entry.name);
    writeFileSync(file, readFileSync(file, 'utf8').replace(/[\u0080-\uffff]/g, '?'));
  }
}

rmSync(join(root, 'dist'), { recursive: true, force: true });
await build({
  absWorkingDir: root,
  entryPoints: { main: 'src/entry.ts' },
  outdir: 'dist/src',
  // Modules imported lazily (the bundle itself, PGlite's adapter, backups) become chunks.
  splitting: true,
  chunkNames: 'chunks/[name]-[hash]',
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20.19',
  external,
  plugins: [nodeRuntime],
  // No `keepNames`: it wraps every function made at run time, closures of the hot path too, in a
  // call that redefines its `name`. Nothing in Bazaar reads a function's or class's name, and
  // names change only where two modules' top-level names collide (none of Bazaar's classes do).
  sourcemap: true,
  sourcesContent: false,
  logLevel: 'warning',
  // The CommonJS dependencies inside the bundle call `require` for Node's built-in modules.
  banner: {
    js: "import { createRequire as __bazaarCreateRequire } from 'node:module'; const require = __bazaarCreateRequire(import.meta.url);",
  },
});
asciiOnly(join(root, 'dist', 'src'));
