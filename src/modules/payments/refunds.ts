import { and, asc, eq, inArray, isNull, sql } from 'drizzle-orm';
import type { Cache } from '../../platform/cache/cache.js';
import { inTransaction, systemContext, type Context, type TxContext } from '../../platform/context.js';
import type { Database } from '../../platform/db/client.js';
import { AppError, conflict, notFound } from '../../platform/errors.js';
import { recordAudit } from '../audit/index.js';
import { getOrderById, getOrderForActor, recordOrderRefund, type OrderStatus } from '../orders/index.js';
import { REFUND_SUBMIT_QUEUE, type PaymentsDeps } from './deps.js';
import { EVENT_SOURCE, REFUND_SUCCEEDED, type RefundSucceededEvent } from './events.js';
import { GatewayError, type GatewayRefund } from './gateway.js';
import { formatMoney } from '../../platform/money.js';
import type { Payment, Refund } from './payments.js';
import { payments, refunds } from './schema.js';

const refundableStatuses: readonly OrderStatus[] = [
  'paid',
  'fulfilled',
  'shipped',
  'delivered',
  'partially_refunded',
];
/** If the request that created a refund dies before reaching the gateway, a job sends it after this. */
const SAFETY_NET_SECONDS = 60;

export type AutoRefundReason = 'duplicate_payment' | 'order_not_payable';
const autoRefundText: Record<AutoRefundReason, string> = {
  duplicate_payment: 'Automatic refund: the order was already paid by another payment.',
  order_not_payable: 'Automatic refund: the order was no longer awaiting payment.',
};

export interface RefundRequest {
  /** Minor units; omitted = everything not yet refunded. */
  amount?: number;
  reason: string;
}

/**
 * An admin refund, as compensable steps: (1) one transaction validates it against what is not
 * yet refunded (pending refunds count) and records it `pending`; (2) the gateway is asked,
 * outside any transaction, with the idempotency key `refund-<id>`; (3) its answer, or later its
 * webhook, completes the refund in one transaction with the order's refunded total and the
 * `refund.succeeded` event. A refused refund is marked failed (no money moved); an unanswered
 * one stays pending and a job retries it with the same key. `requestKey` (the request's
 * Idempotency-Key) makes a retried request resume its refund instead of starting another.
 */
export async function issueRefund(
  ctx: Context,
  deps: PaymentsDeps,
  orderId: string,
  request: RefundRequest,
  options: { requestKey?: string; onRecorded?: (tx: TxContext, refund: Refund) => Promise<void> } = {},
): Promise<Refund> {
  const recorded = await inTransaction(ctx, async (tx) => {
    if (options.requestKey) {
      const [resumed] = await tx.db.select().from(refunds).where(eq(refunds.requestKey, options.requestKey));
      if (resumed) return resumed;
    }
    const order = await getOrderForActor(tx, orderId);
    if (!refundableStatuses.includes(order.status)) {
      throw conflict(
        `Order ${order.number} is ${order.status.replace('_', ' ')}; only a paid order can be refunded.`,
        {
          status: order.status,
        },
      );
    }
    // Locking the payment serializes refunds of one order, so two cannot both take the same money.
    const [payment] = await tx.db
      .select()
      .from(payments)
      .where(
        and(
          eq(payments.orderId, order.id),
          eq(payments.status, 'succeeded'),
          isNull(payments.autoRefundReason),
        ),
      )
      .orderBy(asc(payments.createdAt))
      .limit(1)
      .for('update');
    if (!payment) throw conflict(`Order ${order.number} has no captured payment to refund.`);
    const refundable = payment.amount - (await committedRefunds(tx, payment.id));
    if (refundable <= 0)
      throw conflict(`Order ${order.number} is already refunded in full.`, { refundable: 0 });
    const amount = request.amount ?? refundable;
    if (amount > refundable) {
      throw conflict(
        `At most ${formatMoney(refundable, payment.currency, { grouped: true })} of order ${order.number} can still be refunded.`,
        { refundable, requested: amount },
      );
    }
    const [refund] = await tx.db
      .insert(refunds)
      .values({
        paymentId: payment.id,
        orderId: order.id,
        userId: payment.userId,
        amount,
        currency: payment.currency,
        reason: request.reason,
        actorId: ctx.actor?.id ?? null,
        requestKey: options.requestKey ?? null,
      })
      .returning();
    await recordAudit(tx, {
      action: 'payments.refund_requested',
      targetType: 'order',
      targetId: order.id,
      metadata: {
        refund_id: refund!.id,
        payment_id: payment.id,
        amount,
        currency: payment.currency,
        reason: request.reason,
      },
    });
    await deps.jobs.enqueue(
      tx.db,
      REFUND_SUBMIT_QUEUE,
      { refund_id: refund!.id },
      { startAfterSeconds: SAFETY_NET_SECONDS },
    );
    return refund!;
  });

  const { outcome, refund } = await submitRefund(ctx, deps, recorded.id, options.onRecorded);
  if (outcome === 'refused') {
    throw new AppError('SERVICE_UNAVAILABLE', 'The payment gateway refused the refund; no money was moved.', {
      refund_id: refund.id,
      status: refund.status,
    });
  }
  if (outcome === 'unknown') {
    throw new AppError(
      'SERVICE_UNAVAILABLE',
      'The payment gateway did not answer; the refund stays pending and is retried automatically.',
      { refund_id: refund.id, status: refund.status },
      5,
    );
  }
  return refund;
}

/** Refunds that took or will take money back: pending and succeeded. */
async function committedRefunds(tx: TxContext, paymentId: string): Promise<number> {
  const [row] = await tx.db
    .select({ total: sql<string>`coalesce(sum(${refunds.amount}), 0)` })
    .from(refunds)
    .where(and(eq(refunds.paymentId, paymentId), inArray(refunds.status, ['pending', 'succeeded'])));
  return Number(row?.total ?? 0);
}

/**
 * Steps 2 and 3: sends a pending refund to its gateway (unless it was sent already) and records
 * the answer. `sent`: the gateway took it (it may still be pending until its webhook);
 * `refused`: marked failed; `unknown`: no answer, still pending.
 */
export async function submitRefund(
  ctx: Context,
  deps: PaymentsDeps,
  refundId: string,
  onRecorded?: (tx: TxContext, refund: Refund) => Promise<void>,
): Promise<{ outcome: 'sent' | 'refused' | 'unknown'; refund: Refund }> {
  const [row] = await ctx.db
    .select({ refund: refunds, payment: payments })
    .from(refunds)
    .innerJoin(payments, eq(payments.id, refunds.paymentId))
    .where(eq(refunds.id, refundId));
  if (!row) throw notFound('Refund');

  let answer: GatewayRefund | undefined;
  if (row.refund.status === 'pending' && !row.refund.gatewayReference) {
    try {
      const gateway = deps.gateways.get(row.payment.gateway as never);
      if (!gateway) throw new GatewayError(`The ${row.payment.gateway} gateway is not enabled.`, false);
      answer = await gateway.refund({
        reference: row.payment.gatewayReference,
        amount: row.refund.amount,
        idempotencyKey: `refund-${row.refund.id}`,
        metadata: { refund_id: row.refund.id, payment_id: row.payment.id, order_id: row.refund.orderId },
      });
    } catch (error) {
      deps.logger.warn({ err: error, refund_id: refundId }, 'refund not accepted by the gateway');
      if (!(error instanceof GatewayError && error.definitive))
        return { outcome: 'unknown', refund: row.refund };
      const failed = await inTransaction(ctx, (tx) => failRefund(tx, deps, refundId, error.message));
      return { outcome: 'refused', refund: failed ?? row.refund };
    }
  }

  const refund = await inTransaction(ctx, async (tx) => {
    const locked = await lockRefund(tx, refundId);
    let current = locked.refund;
    if (answer && !current.gatewayReference) {
      const [referenced] = await tx.db
        .update(refunds)
        .set({ gatewayReference: answer.refundReference, updatedAt: new Date() })
        .where(eq(refunds.id, refundId))
        .returning();
      current = referenced ?? current;
    }
    if (answer?.status === 'succeeded')
      current = (await completeRefund(tx, deps, current, locked.payment)) ?? current;
    if (answer?.status === 'failed')
      current = (await failRefund(tx, deps, refundId, 'refused by the gateway')) ?? current;
    await onRecorded?.(tx, current);
    return current;
  });
  return { outcome: 'sent', refund };
}

/** Locks the refund's payment, then the refund: the order every refund writer takes them in. */
export async function lockRefund(
  tx: TxContext,
  refundId: string,
): Promise<{ refund: Refund; payment: Payment }> {
  const [ref] = await tx.db
    .select({ paymentId: refunds.paymentId })
    .from(refunds)
    .where(eq(refunds.id, refundId));
  if (!ref) throw notFound('Refund');
  const [payment] = await tx.db.select().from(payments).where(eq(payments.id, ref.paymentId)).for('update');
  const [refund] = await tx.db.select().from(refunds).where(eq(refunds.id, refundId)).for('update');
  return { refund: refund!, payment: payment! };
}

/**
 * The money went back: refund succeeded, payment and order totals follow, `refund.succeeded`
 * published, audited. Once per refund (only a pending one completes). The automatic refund of
 * a payment the order did not need leaves the order's totals alone.
 */
export async function completeRefund(
  tx: TxContext,
  deps: PaymentsDeps,
  refund: Refund,
  payment: Payment,
  gatewayReference?: string,
): Promise<Refund | undefined> {
  const [done] = await tx.db
    .update(refunds)
    .set({
      status: 'succeeded',
      gatewayReference: refund.gatewayReference ?? gatewayReference ?? null,
      updatedAt: new Date(),
    })
    .where(and(eq(refunds.id, refund.id), eq(refunds.status, 'pending')))
    .returning();
  if (!done) return undefined;
  await tx.db
    .update(payments)
    .set({ amountRefunded: sql`${payments.amountRefunded} + ${done.amount}`, updatedAt: new Date() })
    .where(eq(payments.id, payment.id));
  const automatic = payment.autoRefundReason !== null;
  if (!automatic) await recordOrderRefund(tx, done.orderId, done.amount, `Refund ${done.id}: ${done.reason}`);
  const order = await getOrderById(tx, done.orderId);
  await deps.jobs.publish<RefundSucceededEvent>(
    tx.db,
    REFUND_SUCCEEDED,
    {
      refund_id: done.id,
      payment_id: payment.id,
      order_id: done.orderId,
      order_number: order?.number ?? '',
      amount: done.amount,
      currency: done.currency,
      reason: done.reason,
      automatic,
      user_id: payment.userId,
      email: order?.email ?? '',
    },
    EVENT_SOURCE,
  );
  await recordAudit(tx, {
    action: 'payments.refund_issued',
    actorId: done.actorId ?? undefined,
    targetType: 'order',
    targetId: done.orderId,
    metadata: {
      refund_id: done.id,
      payment_id: payment.id,
      amount: done.amount,
      currency: done.currency,
      reason: done.reason,
      automatic,
    },
  });
  return done;
}

/** A refund the gateway refused: no money moved. Its request key is freed so a retry starts anew. */
export async function failRefund(
  tx: TxContext,
  deps: PaymentsDeps,
  refundId: string,
  why: string,
): Promise<Refund | undefined> {
  const [failed] = await tx.db
    .update(refunds)
    .set({ status: 'failed', requestKey: null, updatedAt: new Date() })
    .where(and(eq(refunds.id, refundId), eq(refunds.status, 'pending')))
    .returning();
  if (!failed) return undefined;
  deps.logger.error({ refund_id: refundId, reason: why }, 'refund failed at the gateway; no money was moved');
  await recordAudit(tx, {
    action: 'payments.refund_failed',
    actorId: failed.actorId ?? undefined,
    targetType: 'order',
    targetId: failed.orderId,
    metadata: { refund_id: failed.id, amount: failed.amount, currency: failed.currency, why },
  });
  return failed;
}

/**
 * A payment succeeded that the order does not need (another attempt paid it first, or it was
 * cancelled meanwhile): flag it and give the money back in full, through the gateway, by a job
 * enqueued in the caller's transaction. Audited.
 */
export async function startAutomaticRefund(
  tx: TxContext,
  deps: PaymentsDeps,
  payment: Payment,
  reason: AutoRefundReason,
): Promise<void> {
  await tx.db
    .update(payments)
    .set({ autoRefundReason: reason, updatedAt: new Date() })
    .where(eq(payments.id, payment.id));
  const [refund] = await tx.db
    .insert(refunds)
    .values({
      paymentId: payment.id,
      orderId: payment.orderId,
      userId: payment.userId,
      amount: payment.amount - payment.amountRefunded,
      currency: payment.currency,
      reason: autoRefundText[reason],
    })
    .returning();
  await recordAudit(tx, {
    action: 'payments.automatic_refund',
    targetType: 'payment',
    targetId: payment.id,
    metadata: { refund_id: refund!.id, order_id: payment.orderId, amount: refund!.amount, reason },
  });
  await deps.jobs.enqueue(tx.db, REFUND_SUBMIT_QUEUE, { refund_id: refund!.id });
  deps.logger.warn(
    { payment_id: payment.id, order_id: payment.orderId, reason },
    'payment succeeded for an order that does not need it; refunding it automatically',
  );
}

/** The job behind automatic refunds and the safety net: no answer → throw, so pg-boss retries. */
export function defineRefundJob(db: Database, deps: PaymentsDeps, cache?: Cache): void {
  deps.jobs.define<{ refund_id: string }>(REFUND_SUBMIT_QUEUE, async ({ refund_id }) => {
    const ctx = systemContext(db, `job:${REFUND_SUBMIT_QUEUE}`, cache);
    const { outcome } = await submitRefund(ctx, deps, refund_id);
    if (outcome === 'unknown') throw new Error(`Refund ${refund_id}: the gateway did not answer; retrying.`);
  });
}
