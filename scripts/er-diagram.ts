/**
 * Generates the mermaid ER diagram of docs/system-design.md from the drizzle schema, between the
 * `er-diagram` markers. `--check` fails when the document has drifted from the code.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { is } from 'drizzle-orm';
import { getTableConfig, PgTable } from 'drizzle-orm/pg-core';
import * as schema from '../src/db-schema.js';

const START = '<!-- er-diagram:start -->';
const END = '<!-- er-diagram:end -->';
const DOC = 'docs/system-design.md';

/** Logical references between modules' tables (ids without a foreign key, by design). */
const logicalRelations: [from: string, to: string, label: string][] = [
  ['users', 'auth_credentials', 'has'],
  ['users', 'auth_sessions', 'signs in'],
  ['users', 'user_preferences', 'prefers'],
  ['users', 'orders', 'places'],
  ['catalog_variants', 'inventory_stock', 'stocked as'],
  ['catalog_variants', 'order_items', 'sold as'],
  ['orders', 'payments', 'paid by'],
  ['orders', 'invoices', 'billed by'],
  ['users', 'notifications', 'receives'],
];

export function erDiagram(): string {
  const tables = (Object.values(schema) as unknown[])
    .filter((value): value is PgTable => is(value, PgTable))
    .map((table) => getTableConfig(table))
    .sort((a, b) => a.name.localeCompare(b.name));
  const names = new Set(tables.map((t) => t.name));
  const lines = ['```mermaid', 'erDiagram'];
  for (const table of tables) {
    lines.push(`  ${table.name} {`);
    const primary = new Set([
      ...table.columns.filter((c) => c.primary).map((c) => c.name),
      ...table.primaryKeys.flatMap((pk) => pk.columns.map((c) => c.name)),
    ]);
    const foreign = new Set(table.foreignKeys.flatMap((fk) => fk.reference().columns.map((c) => c.name)));
    for (const column of table.columns) {
      const keys = [primary.has(column.name) ? 'PK' : '', foreign.has(column.name) ? 'FK' : '']
        .filter(Boolean)
        .join(',');
      lines.push(`    ${column.getSQLType().replace(/[^\w]/g, '_')} ${column.name}${keys ? ` ${keys}` : ''}`);
    }
    lines.push('  }');
  }
  for (const table of tables) {
    for (const fk of table.foreignKeys) {
      const target = getTableConfig(fk.reference().foreignTable).name;
      lines.push(
        `  ${target} ||--o{ ${table.name} : "${fk
          .reference()
          .columns.map((c) => c.name)
          .join(', ')}"`,
      );
    }
  }
  for (const [from, to, label] of logicalRelations) {
    if (names.has(from) && names.has(to)) lines.push(`  ${from} ||..o{ ${to} : "${label}"`);
  }
  lines.push('```');
  return lines.join('\n');
}

export function withDiagram(doc: string): string {
  const start = doc.indexOf(START);
  const end = doc.indexOf(END);
  if (start < 0 || end < start) throw new Error(`${DOC} lacks the er-diagram markers`);
  return `${doc.slice(0, start + START.length)}\n${erDiagram()}\n${doc.slice(end)}`;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const doc = readFileSync(DOC, 'utf8');
  const next = withDiagram(doc);
  if (process.argv.includes('--check')) {
    if (next !== doc) {
      console.error(`${DOC}: the ER diagram is out of date; run npx tsx scripts/er-diagram.ts`);
      process.exit(1);
    }
  } else writeFileSync(DOC, next);
}
