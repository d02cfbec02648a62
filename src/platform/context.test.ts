import { describe, expect, it } from 'vitest';
import { allOf } from './context.js';

describe('allOf', () => {
  it('answers every result in order', async () => {
    expect(await allOf([Promise.resolve(1), Promise.resolve('two')])).toEqual([1, 'two']);
  });

  it('throws the first failure only once every step has settled', async () => {
    const events: string[] = [];
    let finishLate!: () => void;
    const late = new Promise<void>((resolve) => {
      finishLate = () => {
        events.push('late step settled');
        resolve();
      };
    });
    const outcome = allOf([
      Promise.reject(new Error('first')),
      late,
      Promise.reject(new Error('second')),
    ]).catch((error: Error) => {
      events.push(`threw ${error.message}`);
    });
    await new Promise((resolve) => setImmediate(resolve));
    expect(events).toEqual([]);
    finishLate();
    await outcome;
    expect(events).toEqual(['late step settled', 'threw first']);
  });
});
