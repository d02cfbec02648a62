// Applies fixes to postgres.js 3.4.9 at install, until releases carry them. Each patch is
// idempotent and fails loudly if the code it expects changed (then check whether upstream fixed
// it and drop the patch). The Dockerfile runs this too.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'node_modules', 'postgres');

const patches = [
  {
    // A transaction's BEGIN can go out without its connection being reserved: the hook that
    // reserves it is the last term of an `&&` chain in `execute()`, skipped whenever the
    // connection's pipeline is full or the socket is busy. The transaction then fails with
    // UNSAFE_TRANSACTION, and its connection goes back to the pool still inside the transaction,
    // so the next unrelated statements on it run there. Upstream: porsager/postgres#823, #1189
    // and the fix in #1218 (not released). Here the hook runs whenever the query was written.
    file: 'connection.js',
    before: `      return write(toBuffer(q))
        && !q.describeFirst
        && !q.cursorFn
        && sent.length < max_pipeline
        && (!q.options.onexecute || q.options.onexecute(connection))`,
    after: `      const written = write(toBuffer(q))
      q.options.onexecute && q.options.onexecute(connection) // patched by bazaar: see scripts/patch-postgres.mjs
      return written
        && !q.describeFirst
        && !q.cursorFn
        && sent.length < max_pipeline
        && !q.options.onexecute`,
  },
  {
    // The pool moves a connection between its queues (open, busy, full…) around every query. A
    // queue's `shift` leaves a hole at the front of its array, which is only reset when the queue
    // drains, and `remove` searched the whole array, holes included. Under steady load the busy
    // queue never drains: after 100,000 queries its array held ~100,000 holes, and every query
    // paid for a scan of them (50 clients on a pool of 10: 31,000 `select 1`/s, 90,000/s with
    // this patch). Here `remove` searches from the first live entry, and `shift` drops the
    // holes once they are half of the array.
    file: 'queue.js',
    before: `    remove: (x) => {
      const index = xs.indexOf(x)
      return index === -1
        ? null
        : (xs.splice(index, 1), x)
    },
    push: (x) => (xs.push(x), x),
    shift: () => {
      const out = xs[index++]

      if (index === xs.length) {
        index = 0
        xs = []
      } else {
        xs[index - 1] = undefined
      }`,
    after: `    remove: (x) => { // patched by bazaar: see scripts/patch-postgres.mjs
      const at = xs.indexOf(x, index)
      return at === -1
        ? null
        : (xs.splice(at, 1), x)
    },
    push: (x) => (xs.push(x), x),
    shift: () => {
      const out = xs[index++]

      if (index === xs.length) {
        index = 0
        xs = []
      } else if (index >= 1024 && index * 2 >= xs.length) {
        xs = xs.slice(index)
        index = 0
      } else {
        xs[index - 1] = undefined
      }`,
  },
  {
    // A transaction waited for BEGIN's answer before running its first statement: a round trip
    // of its own, in every transaction. A plain BEGIN on a live connection cannot fail, so its
    // statements can follow it on the wire at once (they run after it, on the connection the
    // transaction reserved, usually in the same socket write). BEGIN with options (isolation
    // level, read only) could fail on a bad option and leave the statements outside a
    // transaction, so it is still awaited. A failed BEGIN fails the transaction either way.
    file: 'index.js',
    before: `    try {
      await sql.unsafe('begin ' + options.replace(/[^a-z ]/ig, ''), [], { onexecute }).execute()
      return await Promise.race([
        scope(connection, fn),
        new Promise((_, reject) => connection.onclose = reject)
      ])
    } catch (error) {
      throw error
    }`,
    after: `    try { // patched by bazaar: see scripts/patch-postgres.mjs
      let taken
      const reserving = new Promise(resolve => taken = resolve)
      const beginning = sql.unsafe('begin ' + options.replace(/[^a-z ]/ig, ''), [], {
        onexecute: c => (onexecute(c), taken())
      }).execute()
      options ? await beginning : await Promise.race([reserving, beginning])
      beginning.catch(() => { /* reported by the race below */ })
      // The pool marked the connection full when BEGIN went out, which would hold the
      // transaction's statements back to one per round trip until BEGIN is answered.
      connection.queue === full && move(connection, reserved)
      return await Promise.race([
        scope(connection, fn),
        beginning.then(() => new Promise(() => { /* the scope settles the transaction */ })),
        new Promise((_, reject) => connection.onclose = reject)
      ])
    } catch (error) {
      throw error
    }`,
  },
];

if (!existsSync(root)) process.exit(0); // a production image without dev tooling still has it; nothing to do otherwise
for (const { file, before, after } of patches) {
  for (const build of ['src', 'cjs/src', 'cf/src']) {
    const target = path.join(root, build, file);
    if (!existsSync(target)) continue;
    const text = readFileSync(target, 'utf8');
    if (text.includes(after)) continue;
    if (!text.includes(before)) {
      console.error(
        `scripts/patch-postgres.mjs: ${target} changed; check whether postgres.js fixed it and drop the patch.`,
      );
      process.exit(1);
    }
    writeFileSync(target, text.replace(before, after));
  }
}
