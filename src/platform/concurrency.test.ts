import { describe, expect, it } from 'vitest';
import { concurrencyLimit } from './concurrency.js';

describe('concurrencyLimit', () => {
  it('runs at most `max` tasks at once, in the order they came, and passes on results and errors', async () => {
    const limit = concurrencyLimit(2);
    let running = 0;
    let most = 0;
    const started: number[] = [];
    const gates: (() => void)[] = [];
    const task = (i: number) => () => {
      started.push(i);
      running++;
      most = Math.max(most, running);
      return new Promise<number>((resolve, reject) => {
        gates[i] = () => {
          running--;
          if (i === 3) reject(new Error('task 3 failed'));
          else resolve(i * 10);
        };
      });
    };
    const results = [0, 1, 2, 3, 4].map((i) => limit(task(i)));
    await Promise.resolve();
    expect(started).toEqual([0, 1]);
    gates[1]!();
    await results[1];
    await new Promise((resolve) => setImmediate(resolve));
    expect(started).toEqual([0, 1, 2]);
    gates[0]!();
    gates[2]!();
    await Promise.all([results[0], results[2]]);
    await new Promise((resolve) => setImmediate(resolve));
    expect(started).toEqual([0, 1, 2, 3, 4]);
    gates[3]!();
    gates[4]!();
    await expect(results[3]).rejects.toThrow('task 3 failed');
    expect(await Promise.all([results[0], results[1], results[2], results[4]])).toEqual([0, 10, 20, 40]);
    expect(most).toBe(2);

    // A failed task gave its slot back too.
    const after = concurrencyLimit(1);
    await expect(after(() => Promise.reject(new Error('no')))).rejects.toThrow('no');
    expect(await after(async () => 'free')).toBe('free');
  });

  it('refuses a limit that is not a positive integer', () => {
    expect(() => concurrencyLimit(0)).toThrow(RangeError);
    expect(() => concurrencyLimit(1.5)).toThrow(RangeError);
  });
});
