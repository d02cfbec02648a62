import { randomUUID } from 'node:crypto';
import { and, asc, eq, inArray, sql } from 'drizzle-orm';
import { inTransaction, type Context, type TxContext } from '../../platform/context.js';
import { prepared } from '../../platform/db/prepared.js';
import { AppError, conflict, notFound } from '../../platform/errors.js';
import { getOrderForActor } from '../orders/index.js';
import { gatewayFor, type PaymentsDeps } from './deps.js';
import { canMovePayment, placeholderReference, type CreatedPayment, type PaymentStatus } from './gateway.js';
import { assertCanReadPayment } from './policy.js';
import { payments, refunds } from './schema.js';

export type Payment = typeof payments.$inferSelect;
export type Refund = typeof refunds.$inferSelect;

export interface StartedPayment {
  payment: Payment;
  /** Hand to the storefront to confirm the payment with the gateway. Not stored by Bazaar. */
  clientSecret: string;
}

/**
 * A new payment attempt for an order awaiting payment, in three steps because the gateway is
 * another system: (1) record the attempt, (2) create it at the gateway (idempotency key = the
 * payment's id), (3) record the gateway's reference. Earlier attempts stay open; the first one
 * the gateway reports as succeeded pays the order. `onRecorded` runs inside step 3's
 * transaction (the route stores its idempotent answer there).
 */
export async function startPayment(
  ctx: Context,
  deps: PaymentsDeps,
  orderId: string,
  gatewayName: string | undefined,
  onRecorded?: (tx: TxContext, started: StartedPayment) => Promise<void>,
): Promise<StartedPayment> {
  const gateway = gatewayFor(deps, gatewayName);
  const attempt = await inTransaction(ctx, async (tx) => {
    const order = await getOrderForActor(tx, orderId);
    if (order.status !== 'pending_payment') {
      throw conflict(
        `Order ${order.number} is ${order.status.replace('_', ' ')}; only an order awaiting payment can be paid.`,
        {
          status: order.status,
        },
      );
    }
    if (order.total <= 0) throw conflict(`Order ${order.number} has nothing to pay.`);
    const id = randomUUID();
    const [payment] = await insertPayment(tx.db, {
      id,
      orderId: order.id,
      userId: order.userId,
      gateway: gateway.name,
      gatewayReference: placeholderReference(id),
      amount: order.total,
      currency: order.currency,
    });
    return payment!;
  });

  let created: CreatedPayment;
  try {
    created = await gateway.createPayment({
      amount: attempt.amount,
      currency: attempt.currency,
      orderId: attempt.orderId,
      paymentId: attempt.id,
      idempotencyKey: `payment-${attempt.id}`,
    });
  } catch (error) {
    deps.logger.warn(
      { err: error, payment_id: attempt.id, gateway: gateway.name },
      'payment creation failed',
    );
    // Nothing to confirm exists for the customer; a new attempt starts afresh.
    await ctx.db
      .update(payments)
      .set({ status: 'failed', failureReason: 'gateway_unavailable', updatedAt: new Date() })
      .where(and(eq(payments.id, attempt.id), eq(payments.status, 'requires_confirmation')));
    throw new AppError(
      'SERVICE_UNAVAILABLE',
      'The payment gateway is not available right now; try again shortly.',
      { gateway: gateway.name },
      5,
    );
  }

  return inTransaction(ctx, async (tx) => {
    const [current] = await paymentForUpdate(tx.db, { id: attempt.id });
    // A webhook may have been faster than this step and moved the payment already.
    const status = canMovePayment(current!.status as PaymentStatus, created.status)
      ? created.status
      : current!.status;
    const [payment] = await recordGatewayReference(tx.db, {
      id: attempt.id,
      gatewayReference: created.reference,
      status,
      updatedAt: new Date().toISOString(),
    });
    const started = { payment: payment!, clientSecret: created.clientSecret };
    await onRecorded?.(tx, started);
    return started;
  });
}

/** One payment with its refunds; the owner or an admin, others NOT_FOUND. */
export async function getPayment(
  ctx: Context,
  paymentId: string,
): Promise<{ payment: Payment; refunds: Refund[] }> {
  const [payment] = await paymentById(ctx.db, { id: paymentId });
  if (!payment) throw notFound('Payment');
  assertCanReadPayment(ctx.actor, payment);
  const rows = await refundsOf(ctx.db, { paymentId: payment.id });
  return { payment, refunds: rows };
}

// The statements of every checkout's payment (and of the storefront's reads of it), built once.
const insertPayment = prepared((db) =>
  db
    .insert(payments)
    .values({
      id: sql.placeholder('id'),
      orderId: sql.placeholder('orderId'),
      userId: sql.placeholder('userId'),
      gateway: sql.placeholder('gateway'),
      gatewayReference: sql.placeholder('gatewayReference'),
      amount: sql.placeholder('amount'),
      currency: sql.placeholder('currency'),
    })
    .returning()
    .prepare('payments_insert'),
);

const paymentForUpdate = prepared((db) =>
  db
    .select()
    .from(payments)
    .where(eq(payments.id, sql.placeholder('id')))
    .for('update')
    .prepare('payments_for_update'),
);

const recordGatewayReference = prepared((db) =>
  db
    .update(payments)
    .set({
      gatewayReference: sql`${sql.placeholder('gatewayReference')}`,
      status: sql`${sql.placeholder('status')}`,
      updatedAt: sql`${sql.placeholder('updatedAt')}::timestamptz`,
    })
    .where(eq(payments.id, sql.placeholder('id')))
    .returning()
    .prepare('payments_record_gateway_reference'),
);

const paymentById = prepared((db) =>
  db
    .select()
    .from(payments)
    .where(eq(payments.id, sql.placeholder('id')))
    .limit(1)
    .prepare('payments_by_id'),
);

const refundsOf = prepared((db) =>
  db
    .select()
    .from(refunds)
    .where(eq(refunds.paymentId, sql.placeholder('paymentId')))
    .orderBy(asc(refunds.createdAt), asc(refunds.id))
    .prepare('refunds_of_payment'),
);

/** Every payment attempt of an order with its refunds, oldest first (admin views). */
export async function listOrderPayments(
  ctx: Context,
  orderId: string,
): Promise<{ payment: Payment; refunds: Refund[] }[]> {
  const attempts = await ctx.db
    .select()
    .from(payments)
    .where(eq(payments.orderId, orderId))
    .orderBy(asc(payments.createdAt), asc(payments.id));
  if (attempts.length === 0) return [];
  const ids = attempts.map((p) => p.id);
  const allRefunds = await ctx.db
    .select()
    .from(refunds)
    .where(inArray(refunds.paymentId, ids))
    .orderBy(asc(refunds.createdAt), asc(refunds.id));
  return attempts.map((payment) => ({
    payment,
    refunds: allRefunds.filter((r) => r.paymentId === payment.id),
  }));
}
