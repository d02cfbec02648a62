import { describe, expect, it } from 'vitest';
import { fuzzyTsquery, oneEditVariants, queryWords, typoCandidates } from './fuzzy.js';

describe('typo tolerance', () => {
  it('splits a query into distinct lowercase words, as the simple configuration indexes them', () => {
    expect(queryWords('Blue T-Shirt, blue!')).toEqual(['blue', 't', 'shirt']);
    expect(queryWords('Crème brûlée 2')).toEqual(['crème', 'brûlée', '2']);
    expect(queryWords('&|!()')).toEqual([]);
  });

  it('corrects only words long enough to have typos', () => {
    expect(typoCandidates(['tee', 'shrit', 'a'.repeat(21)])).toEqual(['shrit']);
  });

  it('reaches every word one deletion, transposition, substitution or insertion away', () => {
    const variants = oneEditVariants('shrit');
    for (const near of ['shirt', 'shit', 'shrt', 'shrimt', 'skrit', 'shrit'])
      expect(variants).toContain(near);
    expect(variants).not.toContain('short');
    expect(oneEditVariants('ab')).not.toContain('a'); // single letters are not words worth matching
  });

  it('builds a tsquery with the corrections of misspelt words only', () => {
    expect(fuzzyTsquery(['blue', 'shrit'], new Map([['shrit', ['shirt']]]))).toBe('blue & (shrit | shirt)');
    expect(fuzzyTsquery(['blue', 'shirt'], new Map())).toBe('');
    expect(fuzzyTsquery(['qwxz'], new Map([['qwxz', []]]))).toBe('');
  });
});
