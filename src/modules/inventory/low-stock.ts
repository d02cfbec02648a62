import type { TxContext } from '../../platform/context.js';
import type { Jobs } from '../../platform/jobs/jobs.js';
import type { Logger } from '../../platform/observability/logger.js';

export const LOW_STOCK_EVENT = 'inventory.low_stock';

/** Data of `inventory.low_stock`: a variant's available units just fell below its threshold. */
export interface LowStockEvent {
  variant_id: string;
  sku: string;
  available: number;
  threshold: number;
}

/** A stock row right after a change that lowered `available` by `decrease`. */
export interface LoweredStock {
  variantId: string;
  sku: string;
  available: number;
  lowStockThreshold: number | null;
}

/**
 * Publishes `inventory.low_stock` when a change takes a variant from at-or-above its threshold to
 * below it — once per crossing, not on every later sale, so operators get one alert per dip.
 */
export class LowStockAlerts {
  constructor(
    private readonly jobs: Jobs,
    readonly defaultThreshold: number,
  ) {}

  async afterDecrease(tx: TxContext, row: LoweredStock, decrease: number): Promise<void> {
    const threshold = row.lowStockThreshold ?? this.defaultThreshold;
    const before = row.available + decrease;
    if (decrease <= 0 || before < threshold || row.available >= threshold) return;
    await this.jobs.publish<LowStockEvent>(
      tx.db,
      LOW_STOCK_EVENT,
      { variant_id: row.variantId, sku: row.sku, available: row.available, threshold },
      'inventory',
    );
  }
}

/**
 * The worker's built-in reaction: a warning in the log for operators. Other modules (e-mail to
 * the shop, reorder) subscribe their own handlers to the same event.
 */
export function subscribeLowStockLog(jobs: Jobs, logger: Logger): void {
  jobs.subscribe<LowStockEvent>(LOW_STOCK_EVENT, 'log', async (event) => {
    logger.warn(
      { event_id: event.event_id, ...event.data },
      `low stock: ${event.data.sku} has ${event.data.available} available (threshold ${event.data.threshold})`,
    );
  });
}
