import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import postgres from 'postgres';
import type { TestProject } from 'vitest/node';
import { buildBazaar } from '../src/app.js';
import { loadConfig } from '../src/config.js';
import { baseEnv, testDatabaseUrl, withDatabase } from './helpers/env.js';

declare module 'vitest' {
  export interface ProvidedContext {
    pgliteTemplate: string;
    postgresTemplate: string;
  }
}

/**
 * Migrates ONE template database per run (PGlite directory or PostgreSQL database); each test
 * app starts from a copy, which costs milliseconds instead of seconds.
 */
export default async function setup(project: TestProject) {
  if (testDatabaseUrl) {
    project.provide('postgresTemplate', await preparePostgresTemplate(testDatabaseUrl));
    project.provide('pgliteTemplate', '');
  } else {
    project.provide('pgliteTemplate', await preparePgliteTemplate());
    project.provide('postgresTemplate', '');
  }
}

/** Fingerprint of everything that shapes the schema, so a stale cached template is never used. */
function schemaFingerprint(): string {
  const hash = createHash('sha256');
  const dir = path.resolve('migrations');
  for (const file of readdirSync(dir, { recursive: true }).map(String).sort()) {
    const full = path.join(dir, file);
    if (file.endsWith('.sql') || file.endsWith('.json')) hash.update(file).update(readFileSync(full));
  }
  hash.update(readFileSync(path.resolve('package-lock.json')));
  for (const file of readdirSync('src', { recursive: true })
    .map(String)
    .filter((f) => /jobs|queue|module\.ts|app\.ts/.test(f))) {
    const full = path.join('src', file);
    if (full.endsWith('.ts')) hash.update(readFileSync(full));
  }
  return hash.digest('hex').slice(0, 16);
}

async function migrateInto(env: NodeJS.ProcessEnv) {
  const bazaar = await buildBazaar(loadConfig(env));
  await bazaar.startJobs(false);
  await bazaar.stop();
}

async function preparePgliteTemplate(): Promise<string> {
  const dir = path.join(os.tmpdir(), `bazaar-test-template-${schemaFingerprint()}`);
  if (existsSync(path.join(dir, 'db', 'PG_VERSION'))) return dir;
  const staging = mkdtempSync(path.join(os.tmpdir(), 'bazaar-template-staging-'));
  await migrateInto(baseEnv({ DATA_DIR: staging }));
  rmSync(path.join(staging, 'mail'), { recursive: true, force: true });
  try {
    renameSync(staging, dir);
  } catch {
    rmSync(staging, { recursive: true, force: true }); // another run made it first
  }
  return dir;
}

async function preparePostgresTemplate(url: string): Promise<string> {
  const name = `${new URL(url).pathname.slice(1) || 'bazaar'}_template`;
  const admin = postgres(url, { max: 1, onnotice: () => undefined });
  try {
    await admin.unsafe(`drop database if exists "${name}" with (force)`);
    await admin.unsafe(`create database "${name}"`);
  } finally {
    await admin.end();
  }
  await migrateInto(
    baseEnv({
      DATABASE_URL: withDatabase(url, name),
      DATA_DIR: mkdtempSync(path.join(os.tmpdir(), 'bazaar-pg-')),
    }),
  );
  return name;
}
