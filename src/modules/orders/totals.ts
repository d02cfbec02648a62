/** Order arithmetic, in integer minor units: no floating point touches money. */

export interface PricedLine {
  unitPrice: number;
  quantity: number;
}

export interface ShippingRate {
  country: string;
  amount: number;
  freeOver: number | null;
}

export interface OrderTotals {
  subtotal: number;
  shippingTotal: number;
  taxTotal: number;
  total: number;
}

/** The rate for the country, else the `*` fallback; undefined when neither exists. */
export function rateFor<T extends { country: string }>(rates: readonly T[], country: string): T | undefined {
  return rates.find((r) => r.country === country) ?? rates.find((r) => r.country === '*');
}

/**
 * Subtotal of the lines, flat shipping (free from `freeOver`), and tax in basis points on the
 * subtotal plus shipping, rounded half up to the minor unit.
 */
export function computeTotals(
  lines: readonly PricedLine[],
  shipping: ShippingRate,
  taxBasisPoints: number,
): OrderTotals {
  const subtotal = lines.reduce((sum, line) => sum + line.unitPrice * line.quantity, 0);
  const shippingTotal = shipping.freeOver !== null && subtotal >= shipping.freeOver ? 0 : shipping.amount;
  const taxTotal = Math.round(((subtotal + shippingTotal) * taxBasisPoints) / 10_000);
  return { subtotal, shippingTotal, taxTotal, total: subtotal + shippingTotal + taxTotal };
}
