/** Order facts as text for mail templates: `USD 84.90`, one line per item. */
import { formatMoney } from '../../platform/money.js';

export interface ItemLine {
  title: string;
  options: Record<string, string>;
  quantity: number;
  lineTotal: number;
}

/**
 * `2 × Linen shirt (M, blue) — USD 49.90`, one line per item. Option values the line's title
 * already names (orders snapshot `Linen shirt — M`) are not repeated.
 */
export function itemsText(items: readonly ItemLine[], currency: string): string {
  return items
    .map((item) => {
      const options = Object.values(item.options)
        .filter((value) => !item.title.includes(value))
        .join(', ');
      const title = options ? `${item.title} (${options})` : item.title;
      return `${item.quantity} × ${title} — ${formatMoney(item.lineTotal, currency)}`;
    })
    .join('\n');
}
