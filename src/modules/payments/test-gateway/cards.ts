/**
 * The test gateway's cards, named after Stripe's test numbers so storefront developers can use
 * the ones they know. Any other number is refused as incorrect.
 */
export type CardBehaviour = 'succeed' | 'decline' | 'authenticate' | 'fail_later';

export const testCards: ReadonlyMap<string, CardBehaviour> = new Map([
  ['4242424242424242', 'succeed'],
  ['4000000000000002', 'decline'],
  ['4000002500003155', 'authenticate'],
  ['4000000000000341', 'fail_later'],
]);

/** Digits only: storefronts send "4242 4242 4242 4242" as often as the bare number. */
export const normalizeCardNumber = (number: string) => number.replace(/[\s-]/g, '');
