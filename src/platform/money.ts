/** Money as the shop writes it in mails, invoices and messages: `USD 84.90`, `JPY 1200`, `KWD 1.250`. */

const digitsOf = new Map<string, number>();
const groupedFormats = new Map<number, Intl.NumberFormat>();

/**
 * Decimal places of a currency's minor unit as CLDR gives them (USD 2, JPY 0, KWD 3); 2 for a
 * code Intl does not know. Asked per line of every mail and invoice, so each currency's answer
 * is kept: building an `Intl.NumberFormat` costs tens of microseconds.
 */
export function currencyDigits(currency: string): number {
  let digits = digitsOf.get(currency);
  if (digits === undefined) {
    try {
      digits =
        new Intl.NumberFormat('en', { style: 'currency', currency }).resolvedOptions()
          .maximumFractionDigits ?? 2;
    } catch {
      digits = 2;
    }
    digitsOf.set(currency, digits);
  }
  return digits;
}

/**
 * Minor units in the currency's own decimals: `USD 84.90`, `JPY 1200`, `KWD 1.250`; `grouped`
 * adds thousands separators (`USD 1,234.56`), as invoices print amounts.
 */
export function formatMoney(amount: number, currency: string, options: { grouped?: boolean } = {}): string {
  const digits = currencyDigits(currency);
  const value = amount / 10 ** digits;
  if (!options.grouped) return `${currency} ${value.toFixed(digits)}`;
  let format = groupedFormats.get(digits);
  if (!format) {
    format = new Intl.NumberFormat('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
    groupedFormats.set(digits, format);
  }
  return `${currency} ${format.format(value)}`;
}
