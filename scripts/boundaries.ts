// Module boundary rules, as a pure function over file contents so it can be tested without a disk.
//
//  (a) src/platform/ imports no module at all.
//  (b) src/modules/<a>/ imports another module <b> only through src/modules/<b>/index.ts.
//  (c) every other file imports a module only through its index.ts; the one exception is
//      src/db-schema.ts, which collects every module's schema.ts for drizzle-kit.
//  (d) test files follow the same rules as the code beside them.
import { posix } from 'node:path';

export interface ImportRef {
  specifier: string;
  /** 1-based line of the import/export keyword. */
  line: number;
}

export interface Violation {
  file: string;
  line: number;
  specifier: string;
  message: string;
}

/** The file allowed to import every module's schema.ts (drizzle-kit needs all tables in one place). */
export const SCHEMA_AGGREGATOR = 'src/db-schema.ts';

// `import … from '…'` / `export … from '…'`, possibly over several lines. The statement must start
// a line (so comments are skipped) and may not run into the next import/export statement.
const FROM_CLAUSE =
  /^[ \t]*(?:import|export)\b(?:(?!\n[ \t]*(?:import|export)\b)[^;'"`])*?\bfrom\s*(['"])([^'"\n]+)\1/gm;
// `import '…'` (side effects only).
const BARE_IMPORT = /^[ \t]*import\s*(['"])([^'"\n]+)\1/gm;
// `import('…')`, anywhere in an expression.
const DYNAMIC_IMPORT = /\bimport\s*\(\s*(['"])([^'"\n]+)\1\s*[,)]/g;

function lineStarts(source: string): number[] {
  const starts = [0];
  for (let i = 0; i < source.length; i++) if (source[i] === '\n') starts.push(i + 1);
  return starts;
}

function lineOf(starts: number[], index: number): number {
  let lo = 0;
  let hi = starts.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (starts[mid]! <= index) lo = mid;
    else hi = mid - 1;
  }
  return lo + 1;
}

function isInLineComment(source: string, lineStart: number, index: number): boolean {
  const before = source.slice(lineStart, index);
  const trimmed = before.trimStart();
  return before.includes('//') || trimmed.startsWith('*') || trimmed.startsWith('/*');
}

/** Every import specifier written in `source`, in order of appearance. */
export function parseImports(source: string): ImportRef[] {
  const starts = lineStarts(source);
  const refs: { specifier: string; index: number }[] = [];
  for (const pattern of [FROM_CLAUSE, BARE_IMPORT]) {
    for (const match of source.matchAll(pattern)) {
      const keywordIndex = match.index + (match[0].length - match[0].trimStart().length);
      refs.push({ specifier: match[2]!, index: keywordIndex });
    }
  }
  for (const match of source.matchAll(DYNAMIC_IMPORT)) {
    const lineStart = starts[lineOf(starts, match.index) - 1]!;
    if (isInLineComment(source, lineStart, match.index)) continue;
    refs.push({ specifier: match[2]!, index: match.index });
  }
  return refs
    .sort((a, b) => a.index - b.index)
    .map(({ specifier, index }) => ({ specifier, line: lineOf(starts, index) }));
}

const JS_TO_TS: Record<string, string> = { '.js': '.ts', '.mjs': '.mts', '.cjs': '.cts', '.jsx': '.tsx' };

/**
 * The repository path a relative specifier points at (`.js` written, `.ts` on disk), or null for
 * package and `node:` specifiers.
 */
export function resolveSpecifier(
  fromFile: string,
  specifier: string,
  files: ReadonlyMap<string, string>,
): string | null {
  if (!specifier.startsWith('./') && !specifier.startsWith('../')) return null;
  const target = posix.normalize(posix.join(posix.dirname(fromFile), specifier));
  if (files.has(target)) return target;
  const ext = posix.extname(target);
  const tsExt = JS_TO_TS[ext];
  if (tsExt !== undefined) return target.slice(0, -ext.length) + tsExt;
  if (ext === '') {
    if (files.has(`${target}.ts`)) return `${target}.ts`;
    if (files.has(`${target}/index.ts`)) return `${target}/index.ts`;
  }
  return target;
}

interface ModulePath {
  name: string;
  /** Path inside the module folder, e.g. `index.ts`; '' for the folder itself. */
  inner: string;
}

function moduleOf(path: string): ModulePath | null {
  const match = /^src\/modules\/([^/]+)(?:\/(.+))?$/.exec(path);
  if (!match) return null;
  const [, name, inner] = match;
  // A file lying directly in src/modules/ (a registry, say) belongs to no module.
  if (inner === undefined && /\.[cm]?[jt]sx?$/.test(name!)) return null;
  return { name: name!, inner: inner ?? '' };
}

function checkImport(file: string, target: string): string | null {
  const targetModule = moduleOf(target);
  if (targetModule === null) return null;
  const door = `src/modules/${targetModule.name}/index.js`;

  if (file.startsWith('src/platform/')) {
    return `platform code must not import module "${targetModule.name}" (${target}); platform/ knows no business modules`;
  }
  const sourceModule = moduleOf(file);
  const inOwnModule = sourceModule !== null && sourceModule.inner !== '';
  if (inOwnModule && sourceModule.name === targetModule.name) return null;
  if (targetModule.inner === 'index.ts') return null;
  if (file === SCHEMA_AGGREGATOR && targetModule.inner === 'schema.ts') return null;

  const who = inOwnModule ? `module "${sourceModule.name}"` : file;
  return `${who} may import module "${targetModule.name}" only through ${door}, not ${target}`;
}

/** Boundary violations in `files` (repository-relative POSIX path → source text). */
export function findViolations(files: ReadonlyMap<string, string>): Violation[] {
  const violations: Violation[] = [];
  for (const [file, source] of files) {
    for (const { specifier, line } of parseImports(source)) {
      const target = resolveSpecifier(file, specifier, files);
      if (target === null) continue;
      const message = checkImport(file, target);
      if (message !== null) violations.push({ file, line, specifier, message });
    }
  }
  return violations.sort((a, b) => a.file.localeCompare(b.file) || a.line - b.line);
}
