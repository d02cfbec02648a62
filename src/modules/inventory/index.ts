/**
 * The inventory module: stock per variant (on hand, reserved, available), reservations for
 * orders, admin adjustments, movements, and the `inventory.low_stock` event.
 */
export { createInventoryModule, type Inventory, type InventoryDeps } from './module.js';
export type { ReservedLine, ShortLine, StockLine } from './reservations.js';
export type { StockEntry, StockLevel } from './stock-levels.js';
export { LOW_STOCK_EVENT, type LowStockEvent } from './low-stock.js';
export { STOCK_CHANGED_CHANNEL } from './live-stock.js';
