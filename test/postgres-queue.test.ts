import { afterEach, describe, expect, it, vi } from 'vitest';
// The pool's internal queue: not exported by the package, so imported by its path.
// @ts-expect-error -- an untyped module file of postgres.js
import Queue from '../node_modules/postgres/src/queue.js';

interface PoolQueue<T> {
  readonly length: number;
  push(x: T): T;
  shift(): T;
  remove(x: T): T | null;
}
const newQueue = Queue as <T>(initial?: T[]) => PoolQueue<T>;

/**
 * postgres.js moves each connection between the pool's queues around every query. Its queue left
 * a hole at the front on every `shift`, reset only when the queue drained, and `remove` searched
 * the whole array: under steady load the busy queue never drains, so every query scanned one hole
 * per query run so far. scripts/patch-postgres.mjs (run at install) bounds both.
 */
describe('postgres.js pool queue (patched driver)', () => {
  afterEach(() => vi.restoreAllMocks());

  it('keeps order and membership through shifts, pushes and removals', () => {
    const queue = newQueue<number>([1, 2, 3]);
    queue.push(4);
    expect(queue.shift()).toBe(1);
    expect(queue.remove(3)).toBe(3);
    expect(queue.remove(3)).toBeNull();
    expect(queue.remove(1)).toBeNull(); // already shifted out
    expect(queue.length).toBe(2);
    expect([queue.shift(), queue.shift()]).toEqual([2, 4]);
    expect(queue.length).toBe(0);
  });

  it('searches only live entries, however long the queue has been busy', () => {
    // Ten connections cycling through a queue that never drains, as the busy queue does under load.
    const connections = Array.from({ length: 10 }, (_, n) => ({ n }));
    const queue = newQueue(connections);
    let widest = 0;
    const indexOf = Array.prototype.indexOf;
    vi.spyOn(Array.prototype, 'indexOf').mockImplementation(function (
      this: unknown[],
      item: unknown,
      from?: number,
    ) {
      widest = Math.max(widest, this.length - (from ?? 0));
      return indexOf.call(this, item, from);
    });

    for (let turn = 0; turn < 50_000; turn++) {
      const next = queue.shift();
      queue.push(next);
      // A connection finishing its query leaves the busy queue from wherever it is.
      const done = connections[turn % connections.length]!;
      expect(queue.remove(done)).toBe(done);
      queue.push(done);
    }

    expect(queue.length).toBe(connections.length);
    expect(widest).toBeLessThanOrEqual(connections.length);
    // Still first in, first out after all that.
    const order = Array.from({ length: connections.length }, () => queue.shift());
    expect(new Set(order).size).toBe(connections.length);
  });
});
