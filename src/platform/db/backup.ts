import { spawn } from 'node:child_process';
import { statSync } from 'node:fs';
import postgres from 'postgres';

/** A backup or restore that cannot proceed, with a message an operator can act on. */
export class BackupError extends Error {
  override name = 'BackupError';
}

export interface BackupResult {
  file: string;
  bytes: number;
  ms: number;
}

/** `bazaar-20260101T120000Z.dump`: the default backup file name, sortable by time. */
export function defaultBackupFile(now = new Date()): string {
  return `bazaar-${now
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z')}.dump`;
}

/**
 * A logical backup with `pg_dump` in its custom format (compressed, restorable table by table,
 * consistent: one snapshot). Data, schema, migration history and the job queue (outbox) are all
 * in it. Connect it to the primary directly, not through PgBouncer in transaction mode.
 */
export async function backupDatabase(url: string, file: string): Promise<BackupResult> {
  const started = performance.now();
  await run('pg_dump', ['--format=custom', '--no-owner', '--no-acl', `--file=${file}`, `--dbname=${url}`]);
  return { file, bytes: statSync(file).size, ms: Math.round(performance.now() - started) };
}

export interface RestoreOptions {
  /** Replace a database that already holds a shop (restored beside it, then swapped in). */
  clean?: boolean;
}

/**
 * Restores a `backupDatabase` file into the database of `url`, in ONE transaction so a failed
 * restore leaves nothing half-done. A missing database is created. One that already holds a
 * Bazaar schema is refused unless `clean`: then the backup is restored into a new database beside
 * it, and only once that succeeded is the old one dropped and the new one renamed into its place.
 */
export async function restoreDatabase(
  url: string,
  file: string,
  options: RestoreOptions = {},
): Promise<{ ms: number; created: boolean }> {
  const started = performance.now();
  try {
    statSync(file);
  } catch {
    throw new BackupError(`Backup file "${file}" cannot be read.`);
  }
  const name = databaseName(url);
  const created = await ensureDatabase(url);
  if (created || !(await hasBazaarSchema(url))) {
    await pgRestore(url, file);
  } else if (options.clean) {
    const staging = `${name}_restoring`;
    await onMaintenance(url, (sql) => sql.unsafe(`drop database if exists ${quoteIdent(staging)}`));
    const stagingUrl = withDatabase(url, staging);
    await ensureDatabase(stagingUrl);
    await pgRestore(stagingUrl, file);
    await onMaintenance(url, async (sql) => {
      await sql.unsafe(`drop database ${quoteIdent(name)} with (force)`);
      await sql.unsafe(`alter database ${quoteIdent(staging)} rename to ${quoteIdent(name)}`);
    });
  } else {
    throw new BackupError(
      'The target database already holds a Bazaar schema. Restore into an empty or new database, or pass --clean to replace it.',
    );
  }
  return { ms: Math.round(performance.now() - started), created };
}

function pgRestore(url: string, file: string): Promise<void> {
  return run('pg_restore', [
    '--no-owner',
    '--no-acl',
    '--exit-on-error',
    '--single-transaction',
    `--dbname=${url}`,
    file,
  ]);
}

function databaseName(url: string): string {
  const name = decodeURIComponent(new URL(url).pathname.replace(/^\//, ''));
  if (!name) throw new BackupError('DATABASE_URL names no database.');
  return name;
}

function withDatabase(url: string, name: string): string {
  const u = new URL(url);
  u.pathname = `/${encodeURIComponent(name)}`;
  return u.toString();
}

const quoteIdent = (name: string) => `"${name.replace(/"/g, '""')}"`;

/** Runs `work` connected to the server's `postgres` database (to create, drop or rename others). */
async function onMaintenance<T>(url: string, work: (sql: postgres.Sql) => Promise<T>): Promise<T> {
  const sql = postgres(withDatabase(url, 'postgres'), { max: 1, onnotice: () => undefined });
  try {
    return await work(sql);
  } finally {
    await sql.end({ timeout: 5 });
  }
}

/** Creates the URL's database if it does not exist; true when it did not. */
function ensureDatabase(url: string): Promise<boolean> {
  const name = databaseName(url);
  return onMaintenance(url, async (sql) => {
    const [exists] = await sql`select 1 from pg_database where datname = ${name}`;
    if (exists) return false;
    await sql.unsafe(`create database ${quoteIdent(name)}`);
    return true;
  });
}

async function hasBazaarSchema(url: string): Promise<boolean> {
  const sql = postgres(url, { max: 1, onnotice: () => undefined });
  try {
    const [row] = await sql`select to_regclass('drizzle.__drizzle_migrations') is not null as present`;
    return row?.present === true;
  } finally {
    await sql.end({ timeout: 5 });
  }
}

/** Runs a PostgreSQL client tool; its stderr becomes the error message when it fails. */
function run(command: string, args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.once('error', (error: NodeJS.ErrnoException) =>
      reject(
        error.code === 'ENOENT'
          ? new BackupError(
              `${command} was not found on PATH. Install the PostgreSQL client tools, of the server's major version or newer.`,
            )
          : error,
      ),
    );
    child.once('close', (code) =>
      code === 0
        ? resolve()
        : reject(new BackupError(`${command} failed (exit ${code}): ${redact(stderr.trim())}`)),
    );
  });
}

/** Connection URLs in tool output may carry a password. */
function redact(text: string): string {
  return text.replace(/(postgres(?:ql)?:\/\/[^:/@\s]+:)[^@\s]+@/g, '$1***@');
}
