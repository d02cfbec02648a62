import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { bazaarEnv, prepareDatabase, startBazaar, type RunningBazaar } from './lib/bazaar.js';
import { writeResult, writeTable } from './lib/report.js';
import { freePort } from './lib/processes.js';
import { loadSettings, machine, type BenchSettings } from './lib/settings.js';
import { prepareFixtures, type Fixtures } from './lib/shop.js';
import { scenarios, type Scenario, type ScenarioContext } from './scenarios.js';

/**
 * `npx tsx bench/run.ts [scenario …]` (`npm run bench -- <scenario>`): prepares the benchmark
 * database, runs the named scenarios (all when none is named) and writes bench/results/.
 */
export async function runBench(names: string[], settings: BenchSettings = loadSettings()) {
  const unknown = names.filter((n) => !scenarios.some((s) => s.name === n));
  if (unknown.length > 0)
    throw new Error(
      `unknown scenario ${unknown.join(', ')}; known: ${scenarios.map((s) => s.name).join(', ')}`,
    );
  const chosen = names.length > 0 ? scenarios.filter((s) => names.includes(s.name)) : scenarios;

  const runId = randomBytes(4).toString('hex');
  const env = bazaarEnv(settings, runId);
  console.log(`bench ${runId}: preparing ${settings.databaseUrl ?? 'an embedded database'} …`);
  console.log((await prepareDatabase(settings, env)).trim());

  let fixtures: Promise<Fixtures> | undefined;
  const ctx: ScenarioContext = {
    settings,
    nextPort: freePort,
    start: async (options = {}) =>
      startBazaar(bazaarEnv(settings, runId, options.env), {
        port: await freePort(),
        worker: options.worker ?? false,
        profileDir: settings.profileDir,
        perfMap: settings.perfMap,
        name: options.name ?? 'bazaar',
      }),
    fixtures: (bazaar: RunningBazaar) => {
      fixtures ??= prepareFixtures(bazaar.url, settings.customers, settings.stockedVariants);
      return fixtures;
    },
  };

  const written = [];
  for (const scenario of chosen) written.push(await runScenario(scenario, ctx, settings));
  writeTable(
    settings.resultsDir,
    scenarios.map((s) => s.name),
  );
  return written;
}

async function runScenario(scenario: Scenario, ctx: ScenarioContext, settings: BenchSettings) {
  console.log(`\n▶ ${scenario.name}: ${scenario.title}`);
  const outcome = await scenario.run(ctx);
  const result = {
    scenario: scenario.name,
    title: scenario.title,
    description: scenario.description,
    finished_at: new Date().toISOString(),
    machine: machine(),
    settings: {
      database: settings.databaseUrl ? 'postgresql' : 'embedded',
      redis: settings.redisUrl !== undefined,
      warmup_seconds: settings.warmupSeconds,
      duration_seconds: settings.durationSeconds,
      rounds: settings.rounds,
      connections: settings.connections,
    },
    ...outcome,
  };
  for (const row of result.rows)
    console.log(
      `  ${row.label}: ${row.rate} ${row.unit}, p50 ${row.p50} p99 ${row.p99}, errors ${row.errors}, non-2xx ${row.non_2xx}` +
        (row.ratio !== undefined
          ? `, ${Math.round(row.ratio * 1000) / 10} % of ceiling (${row.ceiling?.rate} req/s; rounds ${(row.round_ratios ?? []).map((r) => `${Math.round(r * 1000) / 10} %`).join(' ')})`
          : ''),
    );
  writeResult(settings.resultsDir, result);
  return result;
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  runBench(process.argv.slice(2)).then(
    () => process.exit(0),
    (error: unknown) => {
      console.error(error instanceof Error ? (error.stack ?? error.message) : error);
      process.exit(1);
    },
  );
}
