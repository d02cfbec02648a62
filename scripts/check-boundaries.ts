// `npm run check:boundaries`: fails when an import crosses a module boundary (rules in ./boundaries.ts).
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { findViolations } from './boundaries.js';

const root = join(import.meta.dirname, '..');

function listTsFiles(dir: string): string[] {
  const found: string[] = [];
  for (const dirent of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, dirent.name);
    if (dirent.isDirectory()) found.push(...listTsFiles(path));
    else if (dirent.isFile() && dirent.name.endsWith('.ts')) found.push(path);
  }
  return found;
}

let paths: string[];
try {
  paths = listTsFiles(join(root, 'src'));
} catch (error) {
  console.error(`module boundaries: cannot read src/: ${(error as Error).message}`);
  process.exit(1);
}

const files = new Map<string, string>();
for (const path of paths.sort()) {
  files.set(relative(root, path).split(sep).join('/'), readFileSync(path, 'utf8'));
}

const violations = findViolations(files);
for (const { file, line, message } of violations) console.error(`${file}:${line}: ${message}`);
console.log(`module boundaries: ${files.size} files checked, ${violations.length} violations`);
process.exit(violations.length > 0 ? 1 : 0);
