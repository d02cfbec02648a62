import { inArray } from 'drizzle-orm';
import type { z } from 'zod';
import { inTransaction, type Context, type TxContext } from '../../platform/context.js';
import { AppError } from '../../platform/errors.js';
import { recordAudit } from '../audit/index.js';
import type { Inventory } from '../inventory/index.js';
import { categoryIdsByHandle } from './categories.js';
import { CsvSyntaxError, parseCsv, type CsvRecord } from './csv.js';
import { slugify, uniqueHandles } from './handles.js';
import { createProductBody, type CreateProductInput } from './http-schemas.js';
import { existingCategoryIds, insertProducts, productDraft, tidyAfterBulkLoad } from './product-writer.js';
import { products, variants } from './schema.js';

/** One problem of an import: `row` is the CSV record (header = 1) or the JSON product (first = 1). */
export interface ImportProblem {
  row: number;
  field: string;
  message: string;
}

export const CSV_COLUMNS = [
  'handle',
  'title',
  'description',
  'status',
  'category_handles',
  'sku',
  'option1_name',
  'option1_value',
  'option2_name',
  'option2_value',
  'price_amount',
  'currency',
  'initial_stock',
] as const;
type CsvColumn = (typeof CSV_COLUMNS)[number];
const REQUIRED_COLUMNS: CsvColumn[] = ['handle', 'title', 'sku', 'price_amount', 'currency'];
const PRODUCT_COLUMNS = ['title', 'description', 'status', 'category_handles'] as const;
const MAX_CSV_ROWS = 20_000;
const MAX_REPORTED = 100;

/** A product of the file before validation, with where its parts came from. */
interface Candidate {
  /** What createProductBody validates (category ids are resolved separately). */
  raw: Record<string, unknown>;
  /** Row of the product's own fields. */
  row: number;
  /** Row of each variant. */
  variantRows: number[];
  /** CSV names categories by handle; JSON by id. */
  categoryHandles?: string[];
  /** Maps a validation path to the file's field name. */
  field(path: PropertyKey[]): string;
}

interface Parsed {
  candidate: Candidate;
  input: CreateProductInput;
  categoryIds: string[];
}

export type ImportSource = { format: 'csv'; text: string } | { format: 'json'; products: unknown[] };

/**
 * Imports products from CSV or JSON: every row is validated first (shape, duplicates within the
 * file, existing handles and SKUs, unknown categories); one bad row and nothing is imported,
 * and the error lists every problem by row. Otherwise all products go in one transaction.
 */
export async function importProducts(
  ctx: Context,
  inventory: Inventory,
  source: ImportSource,
): Promise<{ importedProducts: number; importedVariants: number }> {
  const problems: ImportProblem[] = [];
  const candidates =
    source.format === 'csv' ? candidatesFromCsv(source.text, problems) : candidatesFromJson(source.products);
  return inTransaction(ctx, async (tx) => {
    const parsed = validate(candidates, problems);
    await checkAgainstCatalog(tx, parsed, problems);
    if (problems.length > 0) {
      problems.sort((a, b) => a.row - b.row);
      throw new AppError(
        'VALIDATION_ERROR',
        `The import has ${problems.length} problem${problems.length === 1 ? '' : 's'}; nothing was imported.`,
        { imported: 0, error_count: problems.length, errors: problems.slice(0, MAX_REPORTED) },
      );
    }
    const explicit = parsed.flatMap((p) => (p.input.handle ? [p.input.handle] : []));
    const derived = await uniqueHandles(
      tx.db,
      products,
      products.handle,
      parsed.filter((p) => !p.input.handle).map((p) => slugify(p.input.title)),
      explicit,
    );
    const drafts = parsed.map((p) => {
      const draft = productDraft(p.input, p.input.handle ?? derived.shift()!);
      draft.categoryIds = p.categoryIds;
      return draft;
    });
    await insertProducts(tx, inventory, drafts);
    if (drafts.length >= 100) await tidyAfterBulkLoad(tx);
    const importedVariants = drafts.reduce((n, d) => n + d.variants.length, 0);
    await recordAudit(tx, {
      action: 'catalog.products_imported',
      targetType: 'product',
      metadata: { format: source.format, products: drafts.length, variants: importedVariants },
    });
    return { importedProducts: drafts.length, importedVariants };
  });
}

function validate(candidates: Candidate[], problems: ImportProblem[]): Parsed[] {
  const parsed: Parsed[] = [];
  for (const candidate of candidates) {
    const result = createProductBody.safeParse(candidate.raw);
    if (result.success) {
      parsed.push({ candidate, input: result.data, categoryIds: result.data.category_ids });
      continue;
    }
    for (const issue of result.error.issues) problems.push(problemOf(candidate, issue));
  }
  // Across products: a handle or SKU may appear only once in the file.
  const handles = new Map<string, number>();
  const skus = new Map<string, number>();
  for (const { candidate, input } of parsed) {
    if (input.handle) {
      const first = handles.get(input.handle);
      if (first !== undefined)
        problems.push({
          row: candidate.row,
          field: candidate.field(['handle']),
          message: `repeats row ${first}`,
        });
      else handles.set(input.handle, candidate.row);
    }
    input.variants.forEach((v, i) => {
      const first = skus.get(v.sku);
      const row = candidate.variantRows[i] ?? candidate.row;
      if (first !== undefined && first !== row)
        problems.push({
          row,
          field: candidate.field(['variants', i, 'sku']),
          message: `repeats row ${first}`,
        });
      else skus.set(v.sku, row);
    });
  }
  return parsed;
}

function problemOf(candidate: Candidate, issue: z.core.$ZodIssue): ImportProblem {
  const [head, index] = issue.path;
  const row =
    head === 'variants' && typeof index === 'number'
      ? (candidate.variantRows[index] ?? candidate.row)
      : candidate.row;
  return { row, field: candidate.field(issue.path), message: issue.message };
}

/** Handles and SKUs already in the catalog, and categories that do not exist. */
async function checkAgainstCatalog(tx: TxContext, parsed: Parsed[], problems: ImportProblem[]) {
  const handles = parsed.flatMap((p) => (p.input.handle ? [p.input.handle] : []));
  const skus = parsed.flatMap((p) => p.input.variants.map((v) => v.sku));
  const takenHandles = new Set<string>();
  const takenSkus = new Set<string>();
  for (let i = 0; i < handles.length; i += 1000) {
    const rows = await tx.db
      .select({ handle: products.handle })
      .from(products)
      .where(inArray(products.handle, handles.slice(i, i + 1000)));
    for (const r of rows) takenHandles.add(r.handle);
  }
  for (let i = 0; i < skus.length; i += 1000) {
    const rows = await tx.db
      .select({ sku: variants.sku })
      .from(variants)
      .where(inArray(variants.sku, skus.slice(i, i + 1000)));
    for (const r of rows) takenSkus.add(r.sku);
  }
  const categoryByHandle = await categoryIdsByHandle(
    tx.db,
    parsed.flatMap((p) => p.candidate.categoryHandles ?? []),
  );
  const knownIds = await existingCategoryIds(
    tx.db,
    parsed.flatMap((p) => p.input.category_ids),
  );
  for (const p of parsed) {
    const { candidate, input } = p;
    if (input.handle && takenHandles.has(input.handle))
      problems.push({
        row: candidate.row,
        field: candidate.field(['handle']),
        message: 'a product with this handle already exists',
      });
    input.variants.forEach((v, i) => {
      if (takenSkus.has(v.sku))
        problems.push({
          row: candidate.variantRows[i] ?? candidate.row,
          field: candidate.field(['variants', i, 'sku']),
          message: 'a variant with this SKU already exists',
        });
    });
    if (candidate.categoryHandles) {
      p.categoryIds = [];
      for (const handle of candidate.categoryHandles) {
        const id = categoryByHandle.get(handle);
        if (id) p.categoryIds.push(id);
        else
          problems.push({
            row: candidate.row,
            field: 'category_handles',
            message: `no category with handle ${handle}`,
          });
      }
    } else {
      input.category_ids.forEach((id, i) => {
        if (!knownIds.has(id))
          problems.push({ row: candidate.row, field: `category_ids.${i}`, message: 'no such category' });
      });
    }
  }
}

function candidatesFromJson(items: unknown[]): Candidate[] {
  return items.map((raw, i) => ({
    raw: raw as Record<string, unknown>,
    row: i + 1,
    variantRows: [],
    field: (path) => path.map(String).join('.') || 'product',
  }));
}

const CSV_FIELD: Record<string, CsvColumn> = {
  'price.amount': 'price_amount',
  'price.currency': 'currency',
  options: 'option1_name',
  category_ids: 'category_handles',
};

function csvField(path: PropertyKey[]): string {
  const rest = (path[0] === 'variants' ? path.slice(2) : path).map(String);
  const key = rest.join('.');
  if (rest[0] === 'options') return 'option1_name';
  return CSV_FIELD[key] ?? rest[0] ?? 'row';
}

function candidatesFromCsv(text: string, problems: ImportProblem[]): Candidate[] {
  let records: CsvRecord[];
  try {
    records = parseCsv(text);
  } catch (error) {
    if (error instanceof CsvSyntaxError) {
      problems.push({ row: error.row, field: 'row', message: `not valid CSV: ${error.message}` });
      return [];
    }
    throw error;
  }
  const [header, ...rows] = records;
  if (!header) {
    problems.push({ row: 1, field: 'row', message: 'the file is empty; expected a header row' });
    return [];
  }
  const columns = header.values.map((h) => h.trim().toLowerCase());
  columns.forEach((name) => {
    if (!(CSV_COLUMNS as readonly string[]).includes(name))
      problems.push({
        row: header.row,
        field: name || 'header',
        message: `unknown column; expected ${CSV_COLUMNS.join(', ')}`,
      });
  });
  for (const name of REQUIRED_COLUMNS) {
    if (!columns.includes(name))
      problems.push({ row: header.row, field: name, message: 'required column is missing' });
  }
  if (rows.length === 0)
    problems.push({ row: header.row, field: 'row', message: 'the file has no data rows' });
  if (rows.length > MAX_CSV_ROWS)
    problems.push({ row: header.row, field: 'row', message: `at most ${MAX_CSV_ROWS} rows per import` });
  if (problems.length > 0) return [];

  const groups = new Map<string, { row: number; get: (c: CsvColumn) => string }[]>();
  for (const record of rows) {
    if (record.values.length !== columns.length) {
      problems.push({
        row: record.row,
        field: 'row',
        message: `has ${record.values.length} fields; the header has ${columns.length}`,
      });
      continue;
    }
    const get = (c: CsvColumn) => {
      const at = columns.indexOf(c);
      return at < 0 ? '' : record.values[at]!.trim();
    };
    const handle = get('handle').toLowerCase();
    if (!handle) {
      problems.push({
        row: record.row,
        field: 'handle',
        message: 'required: rows are grouped into products by handle',
      });
      continue;
    }
    groups.set(handle, [...(groups.get(handle) ?? []), { row: record.row, get }]);
  }

  return [...groups].map(([handle, lines]) => {
    const first = lines[0]!;
    const product: Partial<Record<(typeof PRODUCT_COLUMNS)[number], string>> = {};
    for (const column of PRODUCT_COLUMNS) {
      for (const line of lines) {
        const value = line.get(column);
        if (!value) continue;
        if (product[column] === undefined) product[column] = value;
        else if (product[column] !== value)
          problems.push({
            row: line.row,
            field: column,
            message: `differs from an earlier row of ${handle}`,
          });
      }
    }
    const variantsRaw = lines.map((line) => csvVariant(line, problems));
    return {
      raw: {
        handle,
        title: product.title ?? '',
        ...(product.description ? { description: product.description } : {}),
        ...(product.status ? { status: product.status.toLowerCase() } : {}),
        variants: variantsRaw,
      },
      row: first.row,
      variantRows: lines.map((l) => l.row),
      categoryHandles: (product.category_handles ?? '')
        .split('|')
        .map((h) => h.trim().toLowerCase())
        .filter(Boolean),
      field: csvField,
    };
  });
}

function csvVariant(line: { row: number; get: (c: CsvColumn) => string }, problems: ImportProblem[]) {
  const options: Record<string, string> = {};
  for (const n of [1, 2] as const) {
    const name = line.get(`option${n}_name`);
    const value = line.get(`option${n}_value`);
    if (!name && !value) continue;
    if (!name || !value) {
      problems.push({
        row: line.row,
        field: `option${n}_${name ? 'value' : 'name'}`,
        message: 'option name and value go together',
      });
      continue;
    }
    options[name] = value;
  }
  const integer = (column: CsvColumn, optional: boolean): number | undefined => {
    const text = line.get(column);
    if (!text && optional) return undefined;
    if (!/^\d{1,10}$/.test(text)) {
      problems.push({ row: line.row, field: column, message: 'must be a whole non-negative number' });
      return undefined;
    }
    return Number(text);
  };
  const amount = integer('price_amount', false);
  const stock = integer('initial_stock', true);
  return {
    sku: line.get('sku'),
    options,
    // A number already reported above stays out of validation, so it is reported once.
    price: { amount: amount ?? 0, currency: line.get('currency').toUpperCase() },
    ...(stock !== undefined ? { initial_stock: stock } : {}),
  };
}
