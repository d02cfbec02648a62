/**
 * Typo tolerance for search. Trigram similarity is weak on short words with swapped letters
 * ("shrit" and "shirt" share only 2 of 10 trigrams: similarity 0.2, below pg_trgm's 0.3). So a
 * query word that no product contains is corrected: of its one-edit variants — deletion,
 * transposition, substitution, insertion (Damerau–Levenshtein distance 1) — those that are words
 * of the catalog (found with one GIN probe each) are searched as alternatives. Correctly spelt
 * queries skip all of this and stay as cheap as an exact search.
 */

const MAX_WORDS = 6;
const MIN_FUZZY_LENGTH = 4;
const MAX_FUZZY_LENGTH = 20;
const ALPHABET = 'abcdefghijklmnopqrstuvwxyz0123456789';

/** Lowercased words of a query, as the 'simple' text search configuration would index them. */
export function queryWords(q: string): string[] {
  const words = q.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? [];
  return [...new Set(words)].slice(0, MAX_WORDS);
}

/** Words long enough to be typos worth correcting: one edit away from a short word is another word. */
export function typoCandidates(words: string[]): string[] {
  return words.filter((w) => w.length >= MIN_FUZZY_LENGTH && w.length <= MAX_FUZZY_LENGTH);
}

/** Every string at edit distance 1 from `word` (plus `word` itself). */
export function oneEditVariants(word: string): string[] {
  const letters = [...new Set(ALPHABET + word)];
  const out = new Set<string>([word]);
  for (let i = 0; i <= word.length; i += 1) {
    const head = word.slice(0, i);
    const tail = word.slice(i);
    if (tail) out.add(head + tail.slice(1));
    if (tail.length > 1) out.add(head + tail[1]! + tail[0]! + tail.slice(2));
    for (const c of letters) {
      if (tail) out.add(head + c + tail.slice(1));
      out.add(head + c + tail);
    }
  }
  return [...out].filter((w) => w.length > 1);
}

/**
 * A `to_tsquery` text requiring every query word, where a misspelt word may also be any of its
 * corrections: `(shrit | shirt) & blue`. Empty when no word has corrections: the exact query
 * already says it all.
 */
export function fuzzyTsquery(words: string[], corrections: ReadonlyMap<string, string[]>): string {
  if (![...corrections.values()].some((c) => c.length > 0)) return '';
  return words
    .map((w) => {
      const alternatives = corrections.get(w) ?? [];
      return alternatives.length > 0 ? `(${[w, ...alternatives].join(' | ')})` : w;
    })
    .join(' & ');
}
