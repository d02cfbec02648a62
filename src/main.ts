#!/usr/bin/env node
import v8 from 'node:v8';
import { buildBazaar, version, type Bazaar } from './app.js';
import { ConfigError, loadConfig, type Config } from './config.js';

const usage = `Bazaar ${version} — headless commerce platform

Usage: bazaar <command>

  start         API server + worker in one process (what \`npm start\` runs)
  serve         API server only (run any number of them)
  worker        background worker only (run any number of them)
  migrate       apply database migrations and install the job queues, then exit
  seed          create the admin account (and demo data) if missing, then exit
  keys rotate   create a new JWT signing key; tokens signed by the old one stay valid until they expire
  backup [file]             pg_dump (custom format) of the PostgreSQL database to file
                            (default bazaar-<UTC time>.dump)
  restore <file> [--clean]  restore a backup into DATABASE_URL's database (created if missing);
                            --clean replaces a database that already holds a shop (swapped in once restored)

Configuration comes from environment variables: see README.md or docs/configuration.md.`;

async function main(argv: string[]): Promise<number> {
  const [command, sub, ...rest] = argv;
  if (!command || command === 'help' || command === '--help' || command === '-h') {
    console.log(usage);
    return command ? 0 : 1;
  }
  if (command === '--version' || command === 'version') {
    console.log(version);
    return 0;
  }

  let config: Config;
  try {
    config = loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(`Configuration error: ${error.message}`);
      return 78; // EX_CONFIG
    }
    throw error;
  }
  limitHeapGrowth(config.HEAP_GROWING_PERCENT);

  switch (command) {
    case 'start':
      return runServer(config, { serve: true, work: true });
    case 'serve':
      return runServer(config, { serve: true, work: false });
    case 'worker':
      return runServer(config, { serve: false, work: true });
    case 'migrate': {
      const bazaar = await buildBazaar(config);
      await bazaar.startJobs(false);
      await bazaar.stop();
      console.log('Database migrated and job queues installed.');
      return 0;
    }
    case 'seed': {
      const bazaar = await buildBazaar(config);
      const admin = await bazaar.auth.createAdminIfMissing(
        bazaar.systemContext(),
        config.BAZAAR_ADMIN_EMAIL,
        config.BAZAAR_ADMIN_PASSWORD,
      );
      const catalog = await bazaar.catalog.seedDemoCatalog(bazaar.systemContext());
      await bazaar.stop();
      console.log(admin.created ? adminLine(admin) : `Admin ${admin.email} already exists.`);
      console.log(catalogLine(catalog));
      return 0;
    }
    case 'backup':
    case 'restore':
      return backupCommand(config, command, sub, rest);
    case 'keys': {
      if (sub !== 'rotate') break;
      const bazaar = await buildBazaar(config);
      const { kid } = await bazaar.auth.rotateSigningKey(bazaar.systemContext());
      await bazaar.stop();
      console.log(`New signing key ${kid} is active; previous keys are published until their tokens expire.`);
      return 0;
    }
  }
  console.error(`Unknown command: ${argv.join(' ')}\n\n${usage}`);
  return 64; // EX_USAGE
}

/**
 * V8 reads this factor at every full collection, so setting it here, before Bazaar builds
 * anything, is the same as passing `--heap-growing-percent` to node, for every way Bazaar is
 * started (npm start, the bin, containers, the benchmarks). See ADR 0008.
 */
function limitHeapGrowth(percent: number) {
  if (percent > 0 && !process.execArgv.some((flag) => flag.startsWith('--heap-growing-percent')))
    v8.setFlagsFromString(`--heap-growing-percent=${percent}`);
}

async function backupCommand(
  config: Config,
  command: 'backup' | 'restore',
  file: string | undefined,
  flags: string[],
): Promise<number> {
  if (!config.DATABASE_URL) {
    console.error(
      `${command} works on PostgreSQL (DATABASE_URL). The embedded database is the directory ${config.dataDir}/db: stop Bazaar and copy or archive that directory instead.`,
    );
    return 64;
  }
  const { backupDatabase, BackupError, defaultBackupFile, restoreDatabase } =
    await import('./platform/db/backup.js');
  try {
    if (command === 'backup') {
      const result = await backupDatabase(config.DATABASE_URL, file ?? defaultBackupFile());
      console.log(`Backup written to ${result.file} (${result.bytes} bytes, ${result.ms} ms).`);
      return 0;
    }
    if (!file || flags.some((f) => f !== '--clean')) {
      console.error('Usage: bazaar restore <file> [--clean]');
      return 64;
    }
    const result = await restoreDatabase(config.DATABASE_URL, file, { clean: flags.includes('--clean') });
    console.log(
      `Restored ${file}${result.created ? ' into a newly created database' : ''} (${result.ms} ms). Run \`bazaar migrate\` if this build is newer than the backup.`,
    );
    return 0;
  } catch (error) {
    if (error instanceof BackupError) {
      console.error(`${command} failed: ${error.message}`);
      return 1;
    }
    throw error;
  }
}

function catalogLine(seed: { created: boolean; products: number; variants: number; ms: number }): string {
  return seed.created
    ? `Demo catalog created: ${seed.products} products, ${seed.variants} variants (${Math.round(seed.ms)} ms).`
    : 'The catalog already has products; no demo data added.';
}

function adminLine(admin: { email: string; password?: string }): string {
  return admin.password
    ? `Admin account created: ${admin.email} / ${admin.password}  (shown once — store it now)`
    : `Admin account created: ${admin.email} (password from BAZAAR_ADMIN_PASSWORD)`;
}

async function runServer(config: Config, roles: { serve: boolean; work: boolean }): Promise<number> {
  const startedAt = performance.now();
  const bazaar = await buildBazaar(config);
  installShutdown(bazaar, config.SHUTDOWN_TIMEOUT);

  let admin: { created: boolean; email: string; password?: string } | undefined;
  if (roles.serve && config.SEED_DEMO_DATA) {
    admin = await bazaar.auth.createAdminIfMissing(
      bazaar.systemContext(),
      config.BAZAAR_ADMIN_EMAIL,
      config.BAZAAR_ADMIN_PASSWORD,
    );
    // Demo products only where a demo is expected: never into a production database unasked.
    if (config.embedded) {
      const seed = await bazaar.catalog.seedDemoCatalog(bazaar.systemContext());
      if (seed.created)
        bazaar.logger.info(
          { products: seed.products, variants: seed.variants, ms: Math.round(seed.ms) },
          'demo catalog created',
        );
    }
  }
  await bazaar.startJobs(roles.work);
  if (roles.serve) await bazaar.http.listen({ port: config.PORT, host: config.HOST });

  const readyMs = Math.round(performance.now() - startedAt);
  bazaar.logger.info({ roles, ready_ms: readyMs, database: bazaar.database.kind }, 'bazaar ready');
  if (roles.serve) printBanner(bazaar, roles, admin);
  return new Promise<number>(() => undefined); // runs until a signal stops it
}

function printBanner(
  bazaar: Bazaar,
  roles: { work: boolean },
  admin?: { created: boolean; email: string; password?: string },
) {
  const { config } = bazaar;
  const base = config.publicUrl;
  const lines = [
    '',
    `  Bazaar ${version} is running (${roles.work ? 'API server + worker' : 'API server'})`,
    '',
    `  Dashboard    ${base}/admin`,
    `  API          ${base}/api/v1`,
    `  API docs     ${base}/docs`,
    `  OpenAPI      ${base}/api/v1/openapi.json`,
    `  JWKS         ${base}/.well-known/jwks.json`,
    `  Health       ${base}/healthz · ${base}/readyz · ${base}/metrics`,
    `  Mail         ${bazaar.mailer.destination}${config.SMTP_URL ? '' : ' (.eml files)'}`,
  ];
  if (admin?.created) {
    lines.push(
      `  Admin        ${admin.email} / ${admin.password ?? '(BAZAAR_ADMIN_PASSWORD)'}   ← shown once, store it now`,
    );
  } else if (admin) {
    lines.push(
      `  Admin        ${admin.email} (password printed at first start; use "forgot password" to reset — mail goes to the folder above)`,
    );
  }
  if (config.embedded) {
    lines.push(
      '',
      `  ⚠  Embedded database (PGlite in ${config.dataDir}/db): for development and demos only — it does not fsync.`,
      '     Set DATABASE_URL (and REDIS_URL, SMTP_URL) for production.',
    );
  }
  process.stdout.write(`${lines.join('\n')}\n\n`);
}

function installShutdown(bazaar: Bazaar, timeoutSeconds: number) {
  const shutdown = (signal: string) => {
    bazaar.logger.info({ signal }, 'shutting down: finishing in-flight requests and jobs');
    const force = setTimeout(
      () => {
        bazaar.logger.error('shutdown timed out; exiting');
        process.exit(1);
      },
      (timeoutSeconds + 5) * 1000,
    );
    force.unref();
    bazaar.stop().then(
      () => process.exit(0),
      (error: unknown) => {
        bazaar.logger.error({ err: error }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', () => shutdown('SIGTERM'));
  process.once('SIGINT', () => shutdown('SIGINT'));
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error instanceof Error ? (error.stack ?? error.message) : error);
    process.exit(1);
  },
);
