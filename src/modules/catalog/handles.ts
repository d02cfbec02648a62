import { like, or, eq, type SQL } from 'drizzle-orm';
import type { PgColumn, PgTable } from 'drizzle-orm/pg-core';
import type { Executor } from '../../platform/db/client.js';

const MAX_HANDLE = 100;

/** "Crème Brûlée Set (2 pcs)" → "creme-brulee-set-2-pcs". */
export function slugify(text: string): string {
  const slug = text
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, MAX_HANDLE - 8)
    .replace(/-+$/g, '');
  return slug || 'item';
}

/**
 * Unique handles for many wished-for bases at once: a base already taken (in the table or earlier
 * in the list, or in `alsoTaken`) gets the smallest free `-2`, `-3`… suffix. One query per 200 bases.
 */
export async function uniqueHandles(
  db: Executor,
  table: PgTable,
  column: PgColumn,
  bases: string[],
  alsoTaken: Iterable<string> = [],
): Promise<string[]> {
  if (bases.length === 0) return [];
  const distinct = [...new Set(bases)];
  const taken = new Set<string>(alsoTaken);
  for (let i = 0; i < distinct.length; i += 200) {
    const slice = distinct.slice(i, i + 200);
    const match: SQL[] = slice.flatMap((b) => [eq(column, b), like(column, `${b}-%`)]);
    const rows = await db
      .select({ handle: column })
      .from(table)
      .where(or(...match));
    for (const row of rows) taken.add(row.handle as string);
  }
  return bases.map((base) => {
    let handle = base;
    for (let n = 2; taken.has(handle); n += 1) handle = `${base}-${n}`;
    taken.add(handle);
    return handle;
  });
}
