// `npm run build` (server part): bundles src/main.ts and the dependencies it loads at start-up
// with esbuild (ADR 0013). dist/src/main.js, the `bazaar` command, is src/entry.ts: it turns on
// Node's compile cache where there is one, then loads the bundle (a chunk under dist/src/chunks).
// Type checking is `npm run typecheck`'s job.
import { build } from 'esbuild';
import { rmSync } from 'node:fs';
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
