import { and, asc, eq, lte, sql, type SQL } from 'drizzle-orm';
import type { PgUpdateSetSource } from 'drizzle-orm/pg-core';
import { allOf, beforeCommit, inTransaction, type Context, type TxContext } from '../../platform/context.js';
import { prepared } from '../../platform/db/prepared.js';
import { conflict, notFound, validation } from '../../platform/errors.js';
import type { Jobs } from '../../platform/jobs/jobs.js';
import type { Logger } from '../../platform/observability/logger.js';
import { recordAudit } from '../audit/index.js';
import type { Inventory, StockLine } from '../inventory/index.js';
import {
  eventOf,
  EVENT_SOURCE,
  ORDER_CANCELLED,
  ORDER_DELIVERED,
  ORDER_FULFILLED,
  ORDER_SHIPPED,
  type CancellationReason,
  type OrderCancelledEvent,
  type OrderEvent,
  type OrderShippedEvent,
} from './events.js';
import { orderChanged } from './cache.js';
import { actorTypeOf, authorizeOrder } from './policy.js';
import { orderDetail, type OrderDetail } from './queries.js';
import { findOrderRow, formatOrderNumber, recordStatusChange, type OrderRow } from './records.js';
import { orderItems, orders } from './schema.js';
import { assertTransition, type OrderStatus } from './status.js';

/** What the lifecycle needs from the rest of the app. */
export interface LifecycleDeps {
  jobs: Jobs;
  inventory: Pick<Inventory, 'releaseStock' | 'commitStock'>;
  logger: Logger;
}

interface Move {
  /** The target status, or a function deciding it on the row as read (it may throw). */
  to: OrderStatus | ((current: OrderRow) => OrderStatus);
  note: string | null;
  /** Other columns to change with the status. */
  set?: PgUpdateSetSource<typeof orders>;
  /** A further condition the row must still meet when it is updated (besides its status). */
  where?: (current: OrderRow) => SQL;
  /** Runs on the row as read, before the state machine; returning true stops without a change. */
  settled?: (current: OrderRow) => boolean;
}

const MAX_ATTEMPTS = 5;

/**
 * Moves an order to `move.to` with a conditional UPDATE on the status it was read in, so two
 * concurrent changes can never both apply: the loser re-reads the order and the state machine
 * decides again (usually a CONFLICT naming the new status). Writes the history row. Returns
 * undefined when `settled` says there is nothing to do.
 */
async function moveOrder(
  tx: TxContext,
  orderId: string,
  move: Move,
): Promise<{ from: OrderStatus; row: OrderRow } | undefined> {
  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt += 1) {
    const current = await findOrderRow(tx.db, orderId);
    if (!current) throw notFound('Order');
    if (move.settled?.(current)) return undefined;
    const from = current.status as OrderStatus;
    const to = typeof move.to === 'function' ? move.to(current) : move.to;
    assertTransition(from, to);
    const [row] = await tx.db
      .update(orders)
      .set({ ...move.set, status: to, updatedAt: sql`now()` })
      .where(and(eq(orders.id, orderId), eq(orders.status, from), move.where?.(current)))
      .returning();
    if (!row) continue; // changed meanwhile: decide again on what it is now
    await orderChanged(tx, [orderId]);
    // Nobody waits for the history row: it goes out with the transaction's next statement.
    await beforeCommit(
      tx,
      recordStatusChange(tx.db, {
        orderId,
        userId: row.userId,
        from,
        to,
        actorType: actorTypeOf(tx.actor),
        actorId: tx.actor?.id ?? null,
        note: move.note,
      }),
    );
    return { from, row };
  }
  throw conflict('The order changed while this request ran; reload it and try again.');
}

async function stockLinesOf(tx: TxContext, orderId: string): Promise<StockLine[]> {
  return stockLinesRows(tx.db, { orderId });
}

// Runs on every payment and every cancellation, so built once.
const stockLinesRows = prepared((db) =>
  db
    .select({ variantId: orderItems.variantId, quantity: orderItems.quantity })
    .from(orderItems)
    .where(eq(orderItems.orderId, sql.placeholder('orderId')))
    .prepare('order_stock_lines_of'),
);

/** Cancels an unpaid order: stock back on the shelf, `order.cancelled` published. */
async function cancel(
  tx: TxContext,
  deps: LifecycleDeps,
  orderId: string,
  reason: CancellationReason,
  note: string | null,
): Promise<void> {
  const moved = await moveOrder(tx, orderId, {
    to: 'cancelled',
    note,
    set: { cancelledAt: sql`now()` },
  });
  if (!moved) return;
  await deps.inventory.releaseStock(tx, await stockLinesOf(tx, orderId), orderId);
  await deps.jobs.publish<OrderCancelledEvent>(
    tx.db,
    ORDER_CANCELLED,
    { ...eventOf(moved.row), reason },
    EVENT_SOURCE,
  );
}

/** `POST /orders/{id}/cancel`: the customer while it is unpaid, or staff. */
export async function cancelOrder(
  ctx: Context,
  deps: LifecycleDeps,
  orderId: string,
  input: { reason?: string },
): Promise<OrderDetail> {
  return inTransaction(ctx, async (tx) => {
    const current = await findOrderRow(tx.db, orderId);
    if (!current) throw notFound('Order');
    const capacity = authorizeOrder(tx.actor, current, 'cancel');
    const reason = capacity === 'owner' ? 'requested_by_customer' : 'cancelled_by_shop';
    await cancel(tx, deps, orderId, reason, input.reason?.trim() || null);
    if (capacity !== 'owner') await auditStaffMove(tx, orderId, current.status, 'cancelled');
    return orderDetail(tx, orderId);
  });
}

/** Staff moves along the fulfilment path: fulfilled → shipped (with tracking) → delivered. */
export async function advanceOrder(
  ctx: Context,
  deps: LifecycleDeps,
  orderId: string,
  step:
    | { to: 'fulfilled'; note?: string }
    | { to: 'shipped'; trackingNumber: string; carrier?: string; note?: string }
    | { to: 'delivered'; note?: string },
): Promise<OrderDetail> {
  return inTransaction(ctx, async (tx) => {
    const current = await findOrderRow(tx.db, orderId);
    if (!current) throw notFound('Order');
    authorizeOrder(tx.actor, current, 'manage');
    const moved = await moveOrder(tx, orderId, {
      to: step.to,
      note: step.note?.trim() || null,
      set:
        step.to === 'shipped' ? { trackingNumber: step.trackingNumber, carrier: step.carrier ?? null } : {},
    });
    const event = eventOf(moved!.row);
    await auditStaffMove(
      tx,
      orderId,
      moved!.from,
      step.to,
      step.to === 'shipped'
        ? { tracking_number: step.trackingNumber, carrier: step.carrier ?? null }
        : undefined,
    );
    if (step.to === 'shipped') {
      await deps.jobs.publish<OrderShippedEvent>(
        tx.db,
        ORDER_SHIPPED,
        { ...event, tracking_number: step.trackingNumber, carrier: step.carrier ?? null },
        EVENT_SOURCE,
      );
    } else {
      await deps.jobs.publish<OrderEvent>(
        tx.db,
        step.to === 'fulfilled' ? ORDER_FULFILLED : ORDER_DELIVERED,
        event,
        EVENT_SOURCE,
      );
    }
    return orderDetail(tx, orderId);
  });
}

/** Staff changes to an order go to the audit log too (the status history says what; this says who, from where). */
function auditStaffMove(
  tx: TxContext,
  orderId: string,
  from: string,
  to: OrderStatus,
  metadata?: Record<string, unknown>,
) {
  return recordAudit(tx, {
    action: `orders.${to}`,
    targetType: 'order',
    targetId: orderId,
    diff: { status: { from, to } },
    metadata,
  });
}

/**
 * Cancels unpaid orders whose hold has passed, `batchSize` per transaction, skipping rows another
 * worker (or a payment) holds. An order that cannot be cancelled is logged and left for the next
 * run, so one bad row never blocks the rest. Returns how many were cancelled.
 */
export async function expireUnpaidOrders(
  ctx: Context,
  deps: LifecycleDeps,
  options: { batchSize?: number } = {},
): Promise<number> {
  const batchSize = options.batchSize ?? 100;
  let cancelled = 0;
  for (;;) {
    const { claimed, done } = await inTransaction(ctx, async (tx) => {
      const due = await tx.db
        .select({ id: orders.id })
        .from(orders)
        .where(and(eq(orders.status, 'pending_payment'), lte(orders.holdExpiresAt, sql`now()`)))
        .orderBy(asc(orders.holdExpiresAt))
        .limit(batchSize)
        .for('update', { skipLocked: true });
      let ok = 0;
      for (const { id } of due) {
        try {
          // A savepoint per order: a failure undoes that order only.
          await tx.db.transaction((sp) =>
            cancel({ ...tx, db: sp }, deps, id, 'expired', 'Payment hold expired.'),
          );
          ok += 1;
        } catch (error) {
          deps.logger.error({ err: error, order_id: id }, 'could not cancel an expired order');
        }
      }
      return { claimed: due.length, done: ok };
    });
    cancelled += done;
    if (claimed < batchSize || done === 0) return cancelled;
  }
}

/**
 * Payment arrived: pending_payment → paid, the reserved stock becomes a sale. Returns false when
 * the order was paid already (a duplicate payment); CONFLICT when it can no longer be paid
 * (cancelled). Runs in the caller's (the payment's) transaction.
 */
export async function markPaid(
  tx: TxContext,
  inventory: Pick<Inventory, 'commitStock'>,
  orderId: string,
  note: string,
): Promise<OrderRow | undefined> {
  // An order's lines never change: they are read alongside its move, not after it.
  const [moved, lines] = await allOf([
    moveOrder(tx, orderId, {
      to: 'paid',
      note,
      settled: (current) => current.paidAt !== null,
      set: { paidAt: sql`now()` },
    }),
    stockLinesOf(tx, orderId),
  ]);
  if (!moved) return undefined;
  await inventory.commitStock(tx, lines, orderId);
  return moved.row;
}

/**
 * Money went back to the customer: `refunded_total` grows by `amount` (never beyond the total)
 * and the order becomes refunded or partially refunded. Runs in the caller's transaction.
 */
export async function recordRefund(
  tx: TxContext,
  orderId: string,
  amount: number,
  note: string,
): Promise<OrderStatus> {
  if (!Number.isInteger(amount) || amount <= 0) throw validation('amount', 'must be a positive integer');
  const moved = await moveOrder(tx, orderId, {
    to: (current) => {
      const after = current.refundedTotal + amount;
      if (after > current.total) {
        throw conflict(
          `A refund of ${amount} would exceed order ${formatOrderNumber(current.number)}'s total: ${current.total - current.refundedTotal} can still be refunded.`,
          { total: current.total, refunded_total: current.refundedTotal, amount },
        );
      }
      return after === current.total ? 'refunded' : 'partially_refunded';
    },
    note,
    set: { refundedTotal: sql`${orders.refundedTotal} + ${amount}` },
    where: (current) => eq(orders.refundedTotal, current.refundedTotal),
  });
  return moved!.row.status as OrderStatus;
}
