// Run by `npm prestart` (and by tests that run the built command): rebuild when dist/src/main.js
// or the admin dashboard (admin/dist) is missing or older than any of its sources, so `npm start`
// never runs stale JavaScript. One build at a time: others wait for it, then find it fresh.
import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const entry = join(root, 'dist', 'src', 'main.js');
const dashboard = join(root, 'admin', 'dist', 'index.html');

/** Newest modification time (ms) of any file below `dir`, or 0 if there is none. */
function newestMtime(dir) {
  let newest = 0;
  for (const dirent of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, dirent.name);
    const mtime = dirent.isDirectory() ? newestMtime(path) : statSync(path).mtimeMs;
    if (mtime > newest) newest = mtime;
  }
  return newest;
}

function mtimeOrNull(path) {
  try {
    return statSync(path).mtimeMs;
  } catch {
    return null;
  }
}

function staleReason() {
  const built = mtimeOrNull(entry);
  if (built === null) return 'dist/src/main.js is missing';
  if (newestMtime(join(root, 'src')) > built) return 'src/ changed since the last build';
  for (const file of ['tsconfig.json', 'scripts/build.mjs', 'package-lock.json']) {
    const mtime = mtimeOrNull(join(root, file));
    if (mtime !== null && mtime > built) return `${file} changed since the last build`;
  }
  const dashboardBuilt = mtimeOrNull(dashboard);
  if (dashboardBuilt === null) return 'the admin dashboard (admin/dist) is missing';
  if (newestMtime(join(root, 'admin', 'src')) > dashboardBuilt)
    return 'admin/src changed since the last build';
  for (const file of ['admin/index.html', 'admin/vite.config.ts']) {
    const mtime = mtimeOrNull(join(root, file));
    if (mtime !== null && mtime > dashboardBuilt) return `${file} changed since the last build`;
  }
  return null;
}

const lock = join(root, '.build-lock');
const owner = join(lock, 'pid');

/** A lock whose process is gone (killed mid-build), or older than any build, is left over. */
function leftOver() {
  try {
    process.kill(Number(readFileSync(owner, 'utf8')), 0);
  } catch (error) {
    if (error.code === 'ESRCH') return true;
  }
  return Date.now() - (mtimeOrNull(lock) ?? Date.now()) > 10 * 60_000;
}

for (;;) {
  try {
    mkdirSync(lock);
    writeFileSync(owner, String(process.pid));
    break;
  } catch (error) {
    if (error.code !== 'EEXIST') throw error;
    if (leftOver()) rmSync(lock, { recursive: true, force: true });
    else Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 200);
  }
}
process.on('exit', () => rmSync(lock, { recursive: true, force: true }));

const reason = staleReason();
if (reason !== null) {
  console.log(`${reason}; running npm run build`);
  // Under npm, npm_execpath is the npm that started us; reuse it rather than whichever npm is on PATH.
  const npmCli = process.env.npm_execpath;
  const result = npmCli?.endsWith('npm-cli.js')
    ? spawnSync(process.execPath, [npmCli, 'run', 'build'], { cwd: root, stdio: 'inherit' })
    : spawnSync('npm', ['run', 'build'], { cwd: root, stdio: 'inherit' });
  if (result.error) {
    console.error(`could not run npm run build: ${result.error.message}`);
    process.exit(1);
  }
  if (result.status !== 0) {
    console.error('npm run build failed; not starting');
    process.exit(result.status ?? 1);
  }
}
