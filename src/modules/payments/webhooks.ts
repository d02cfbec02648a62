import { and, eq, sql } from 'drizzle-orm';
import { inTransaction, type Context, type TxContext } from '../../platform/context.js';
import { prepared } from '../../platform/db/prepared.js';
import { AppError, notFound } from '../../platform/errors.js';
import { isUuid } from '../../platform/ids.js';
import { getOrderById, markOrderPaid, type PaidOrder } from '../orders/index.js';
import type { PaymentsDeps } from './deps.js';
import {
  EVENT_SOURCE,
  PAYMENT_FAILED,
  PAYMENT_SUCCEEDED,
  type PaymentFailedEvent,
  type PaymentSucceededEvent,
} from './events.js';
import {
  canMovePayment,
  isPlaceholderReference,
  statusOfEvent,
  type GatewayEvent,
  type GatewayName,
  type PaymentStatus,
  type WebhookHeaders,
} from './gateway.js';
import type { Payment } from './payments.js';
import {
  completeRefund,
  failRefund,
  lockRefund,
  startAutomaticRefund,
  type AutoRefundReason,
} from './refunds.js';
import { paymentEvents, payments, refunds } from './schema.js';

export type WebhookOutcome = 'applied' | 'unchanged' | 'duplicate' | 'ignored';

/**
 * A gateway's webhook: verified (signature and timestamp), then applied in ONE transaction with
 * its dedupe row `(gateway, event id)`, so a repeated delivery changes nothing and a failed one
 * (database down) leaves nothing behind for the gateway's retry. Payments only move forward, so
 * events arriving out of order cannot undo a later state.
 */
export async function receiveWebhook(
  ctx: Context,
  deps: PaymentsDeps,
  gatewayName: string,
  rawBody: string,
  headers: WebhookHeaders,
): Promise<WebhookOutcome> {
  const gateway = deps.gateways.get(gatewayName as GatewayName);
  if (!gateway) throw notFound('Payment gateway');
  const event = await gateway.parseWebhook(rawBody, headers);
  if (!event) return 'ignored';
  const receipt: Receipt = {};
  const outcome = await inTransaction(ctx, (tx) =>
    event.type.startsWith('refund.')
      ? applyRefundEvent(tx, deps, gateway.name, event)
      : applyPaymentEvent(tx, deps, gateway.name, event, receipt),
  );
  // Committed: only now is the money counted.
  if (receipt.captured)
    deps.metrics?.revenue.inc({ currency: receipt.captured.currency }, receipt.captured.amount);
  return outcome;
}

/** What a webhook's transaction did that is reported once it commits. */
interface Receipt {
  captured?: Payment;
}

/**
 * Records the event of a known payment once: false when it was processed already. An event of no
 * known payment belongs to no customer and is not recorded (it is ignored on every delivery).
 */
async function recordEvent(
  tx: TxContext,
  gateway: GatewayName,
  event: GatewayEvent,
  payment: Pick<Payment, 'id' | 'userId'> | undefined,
) {
  if (!payment) return true;
  const rows = await insertEvent(tx.db, {
    gateway,
    eventId: event.id,
    type: event.type,
    paymentId: payment.id,
    userId: payment.userId,
  });
  return rows.length === 1;
}

/** The event's payment, locked: by the payment id Bazaar sent as metadata, else by reference. */
async function lockPayment(
  tx: TxContext,
  gateway: GatewayName,
  event: GatewayEvent,
): Promise<Payment | undefined> {
  const paymentId = event.metadata.payment_id;
  const [payment] =
    paymentId && isUuid(paymentId)
      ? await paymentByIdForUpdate(tx.db, { gateway, id: paymentId })
      : await paymentByReferenceForUpdate(tx.db, { gateway, reference: event.reference });
  if (!payment) return undefined;
  if (!isPlaceholderReference(payment.gatewayReference) && payment.gatewayReference !== event.reference)
    return undefined;
  return payment;
}

async function applyPaymentEvent(
  tx: TxContext,
  deps: PaymentsDeps,
  gateway: GatewayName,
  event: GatewayEvent,
  receipt: Receipt,
): Promise<WebhookOutcome> {
  const payment = await lockPayment(tx, gateway, event);
  if (!(await recordEvent(tx, gateway, event, payment))) return 'duplicate';
  if (!payment) {
    deps.logger.warn(
      { gateway, event_id: event.id, reference: event.reference },
      'webhook for an unknown payment',
    );
    return 'ignored';
  }
  const target = statusOfEvent[event.type]!;
  const from = payment.status as PaymentStatus;
  if (!canMovePayment(from, target)) {
    if (isPlaceholderReference(payment.gatewayReference)) {
      await tx.db
        .update(payments)
        .set({ gatewayReference: event.reference })
        .where(eq(payments.id, payment.id));
    }
    return 'unchanged';
  }
  const [moved] = await movePayment(tx.db, {
    id: payment.id,
    status: target,
    gatewayReference: event.reference,
    failureReason:
      target === 'failed'
        ? (event.failureReason ?? 'payment_failed')
        : target === 'succeeded'
          ? null
          : payment.failureReason,
    updatedAt: new Date().toISOString(),
  });
  if (target === 'succeeded' && (await paymentSucceeded(tx, deps, moved!))) receipt.captured = moved!;
  if (target === 'failed') await paymentFailed(tx, deps, moved!);
  return 'applied';
}

// The statements of every payment event (each paid checkout has at least one), built once.
const insertEvent = prepared((db) =>
  db
    .insert(paymentEvents)
    .values({
      gateway: sql.placeholder('gateway'),
      eventId: sql.placeholder('eventId'),
      type: sql.placeholder('type'),
      paymentId: sql.placeholder('paymentId'),
      userId: sql.placeholder('userId'),
    })
    .onConflictDoNothing()
    .returning({ eventId: paymentEvents.eventId })
    .prepare('payment_events_insert'),
);

const paymentByIdForUpdate = prepared((db) =>
  db
    .select()
    .from(payments)
    .where(and(eq(payments.gateway, sql.placeholder('gateway')), eq(payments.id, sql.placeholder('id'))))
    .for('update')
    .prepare('payments_by_gateway_id_for_update'),
);

const paymentByReferenceForUpdate = prepared((db) =>
  db
    .select()
    .from(payments)
    .where(
      and(
        eq(payments.gateway, sql.placeholder('gateway')),
        eq(payments.gatewayReference, sql.placeholder('reference')),
      ),
    )
    .for('update')
    .prepare('payments_by_gateway_reference_for_update'),
);

/** Every column is set: a null `failureReason` clears it. */
const movePayment = prepared((db) =>
  db
    .update(payments)
    .set({
      status: sql`${sql.placeholder('status')}`,
      gatewayReference: sql`${sql.placeholder('gatewayReference')}`,
      failureReason: sql`${sql.placeholder('failureReason')}`,
      updatedAt: sql`${sql.placeholder('updatedAt')}::timestamptz`,
    })
    .where(eq(payments.id, sql.placeholder('id')))
    .returning()
    .prepare('payments_move'),
);

/**
 * The first success pays the order (stock committed by the orders module) and publishes
 * `payment.succeeded` (true). A success the order does not need — it is paid already, or was cancelled
 * while the customer authenticated — is not silently kept: the payment is flagged and refunded.
 */
async function paymentSucceeded(tx: TxContext, deps: PaymentsDeps, payment: Payment): Promise<boolean> {
  let paid: PaidOrder | undefined;
  // Why the money goes back when the order was not paid by this payment.
  let refundReason: AutoRefundReason = 'duplicate_payment';
  try {
    // A savepoint: a refused transition must not abort the webhook's transaction.
    paid = await tx.db.transaction((savepoint) =>
      markOrderPaid(
        { ...tx, db: savepoint },
        payment.orderId,
        `Paid by payment ${payment.id} (${payment.gateway} ${payment.gatewayReference}).`,
      ),
    );
  } catch (error) {
    if (!(error instanceof AppError && error.code === 'CONFLICT')) throw error;
    refundReason = 'order_not_payable';
  }
  if (!paid) {
    await startAutomaticRefund(tx, deps, payment, refundReason);
    return false;
  }

  await deps.jobs.publish<PaymentSucceededEvent>(
    tx.db,
    PAYMENT_SUCCEEDED,
    eventData(payment, paid),
    EVENT_SOURCE,
  );
  return true;
}

async function paymentFailed(tx: TxContext, deps: PaymentsDeps, payment: Payment): Promise<void> {
  const order = await getOrderById(tx, payment.orderId);
  await deps.jobs.publish<PaymentFailedEvent>(
    tx.db,
    PAYMENT_FAILED,
    { ...eventData(payment, order), failure_reason: payment.failureReason },
    EVENT_SOURCE,
  );
}

function eventData(
  payment: Payment,
  order: { number: string; email: string } | undefined,
): PaymentSucceededEvent {
  return {
    payment_id: payment.id,
    order_id: payment.orderId,
    order_number: order?.number ?? '',
    amount: payment.amount,
    currency: payment.currency,
    user_id: payment.userId,
    email: order?.email ?? '',
  };
}

async function applyRefundEvent(
  tx: TxContext,
  deps: PaymentsDeps,
  gateway: GatewayName,
  event: GatewayEvent,
): Promise<WebhookOutcome> {
  const refundId = await findRefundId(tx, gateway, event);
  const target = refundId ? await lockRefund(tx, refundId) : undefined;
  if (!(await recordEvent(tx, gateway, event, target?.payment))) return 'duplicate';
  if (!target) {
    deps.logger.warn(
      { gateway, event_id: event.id, refund: event.refundReference },
      'webhook for an unknown refund',
    );
    return 'ignored';
  }
  const { refund, payment } = target;
  if (event.type === 'refund.succeeded') {
    if (refund.status === 'failed') {
      deps.logger.error(
        { refund_id: refund.id },
        'the gateway reports success for a refund it had refused; check it',
      );
      return 'unchanged';
    }
    return (await completeRefund(tx, deps, refund, payment, event.refundReference)) ? 'applied' : 'unchanged';
  }
  if (refund.status === 'succeeded') {
    deps.logger.error({ refund_id: refund.id }, 'the gateway reports a completed refund as failed; check it');
    return 'unchanged';
  }
  return (await failRefund(tx, deps, refund.id, event.failureReason ?? 'failed at the gateway'))
    ? 'applied'
    : 'unchanged';
}

async function findRefundId(
  tx: TxContext,
  gateway: GatewayName,
  event: GatewayEvent,
): Promise<string | undefined> {
  const refundId = event.metadata.refund_id;
  const where =
    refundId && isUuid(refundId)
      ? and(eq(refunds.id, refundId), eq(payments.gateway, gateway))
      : and(eq(refunds.gatewayReference, event.refundReference ?? ''), eq(payments.gateway, gateway));
  const [row] = await tx.db
    .select({ id: refunds.id })
    .from(refunds)
    .innerJoin(payments, eq(payments.id, refunds.paymentId))
    .where(where);
  return row?.id;
}
