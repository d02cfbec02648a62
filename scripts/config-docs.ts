/**
 * Generates the configuration reference from src/config.ts: docs/configuration.md and the table
 * in README.md between the `config-table` markers. `--check` fails when either has drifted.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { configDocs } from '../src/config.js';

const START = '<!-- config-table:start -->';
const END = '<!-- config-table:end -->';

export function configTable(): string {
  const rows = configDocs.map(
    (v) =>
      `| \`${v.name}\` | ${v.default === undefined ? '—' : `\`${v.default}\``} | ${v.description}${v.example ? ` Example: \`${v.example}\`.` : ''} |`,
  );
  return ['| Variable | Default | Meaning |', '|---|---|---|', ...rows].join('\n');
}

export function configurationDoc(): string {
  return `# Configuration

Bazaar reads its whole configuration from environment variables, validated once at startup: a
bad value stops the process with one sentence naming the variable and what it expects.

Any variable can instead be given as \`<NAME>_FILE\` — the path of a file holding the value — so
secrets can be mounted by Docker or Kubernetes rather than placed in the environment.

With no variables set, Bazaar runs on the **embedded default**: PGlite in \`./data/db\`, in-process
rate-limit counters, mail written to \`./data/mail\` as \`.eml\` files. Set \`DATABASE_URL\`,
\`REDIS_URL\` and \`SMTP_URL\` for production.

${configTable()}

This file is generated from \`src/config.ts\` by \`npx tsx scripts/config-docs.ts\`; a test fails
when they drift.
`;
}

export function readmeWithTable(readme: string): string {
  const start = readme.indexOf(START);
  const end = readme.indexOf(END);
  if (start < 0 || end < start) throw new Error('README.md lacks the config-table markers');
  return `${readme.slice(0, start + START.length)}\n${configTable()}\n${readme.slice(end)}`;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const check = process.argv.includes('--check');
  const files = {
    'docs/configuration.md': configurationDoc(),
    'README.md': readmeWithTable(readFileSync('README.md', 'utf8')),
  };
  let drift = false;
  for (const [file, content] of Object.entries(files)) {
    if (readFileSync(file, 'utf8') === content) continue;
    if (check) {
      console.error(`${file} is out of date: run npx tsx scripts/config-docs.ts`);
      drift = true;
    } else writeFileSync(file, content);
  }
  process.exit(drift ? 1 : 0);
}
