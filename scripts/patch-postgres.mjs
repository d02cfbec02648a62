// postgres.js 3.4.9 can send a transaction's BEGIN without reserving its connection: the hook
// that reserves it is the last term of an `&&` chain in `execute()`, skipped whenever the
// connection's pipeline is full or the socket is busy. The transaction then fails with
// UNSAFE_TRANSACTION, and its connection goes back to the pool still inside the transaction, so
// the next unrelated statements on it run there. Upstream: porsager/postgres#823, #1189 and the
// fix in #1218 (not released). Until it is, this applies the same change at install: the hook
// runs whenever the query was written. Idempotent; fails loudly if the code it expects changed.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'node_modules', 'postgres');
const before = `      return write(toBuffer(q))
        && !q.describeFirst
        && !q.cursorFn
        && sent.length < max_pipeline
        && (!q.options.onexecute || q.options.onexecute(connection))`;
const after = `      const written = write(toBuffer(q))
      q.options.onexecute && q.options.onexecute(connection) // patched by bazaar: see scripts/patch-postgres.mjs
      return written
        && !q.describeFirst
        && !q.cursorFn
        && sent.length < max_pipeline
        && !q.options.onexecute`;

if (!existsSync(root)) process.exit(0); // a production image without dev tooling still has it; nothing to do otherwise
for (const file of ['src/connection.js', 'cjs/src/connection.js', 'cf/src/connection.js']) {
  const target = path.join(root, file);
  if (!existsSync(target)) continue;
  const text = readFileSync(target, 'utf8');
  if (text.includes(after)) continue;
  if (!text.includes(before)) {
    console.error(
      `scripts/patch-postgres.mjs: ${target} changed; check whether postgres.js fixed #823 and drop this patch.`,
    );
    process.exit(1);
  }
  writeFileSync(target, text.replace(before, after));
}
