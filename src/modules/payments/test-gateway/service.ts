import { createHmac, randomBytes } from 'node:crypto';
import { eq, sql } from 'drizzle-orm';
import type { Database, Tx } from '../../../platform/db/client.js';
import { prepared } from '../../../platform/db/prepared.js';
import type { Jobs } from '../../../platform/jobs/jobs.js';
import type { Logger } from '../../../platform/observability/logger.js';
import type { SecretBox } from '../../../platform/security/secret-box.js';
import { safeEqual, sha256 } from '../../../platform/security/tokens.js';
import { GatewayError } from '../gateway.js';
import { testGatewayEvents, testGatewayIntents, testGatewayRefunds, testGatewaySettings } from '../schema.js';
import { signWebhook } from '../webhook-signature.js';
import { normalizeCardNumber, testCards } from './cards.js';

/**
 * The built-in test gateway: a payment system of its own that happens to run in Bazaar's
 * process. It keeps its state in the test_gateway_* tables, answers its own HTTP API
 * (/test-gateway/v1, called by storefronts) and an in-process client (called by Bazaar, like an
 * SDK), and tells Bazaar about outcomes only by signed webhooks, delivered by jobs with retries.
 */
export const SIGNATURE_HEADER = 'Bazaar-Test-Signature';
export const DELIVER_QUEUE = 'test-gateway.deliver';
export const SETTLE_QUEUE = 'test-gateway.settle';
/** A "fails later" card stays processing this long before its failure is reported. */
export const PROCESSING_SECONDS = 2;
const DELIVERY_TIMEOUT_MS = 10_000;
const WEBHOOK_SECRET = 'webhook_secret';

type Intent = typeof testGatewayIntents.$inferSelect;
type Refund = typeof testGatewayRefunds.$inferSelect;
interface Failure {
  code: string;
  message: string;
}

/** An answer of the gateway's HTTP API that is not a success (Stripe's error shape). */
export class TestGatewayError extends Error {
  override name = 'TestGatewayError';

  constructor(
    readonly status: number,
    readonly type: 'invalid_request_error' | 'authentication_error' | 'card_error' | 'api_error',
    readonly code: string,
    message: string,
    readonly paymentIntent?: Record<string, unknown>,
  ) {
    super(message);
  }

  toJSON() {
    return {
      error: {
        type: this.type,
        code: this.code,
        message: this.message,
        ...(this.paymentIntent ? { payment_intent: this.paymentIntent } : {}),
      },
    };
  }
}

export interface TestGatewayOptions {
  db: Database;
  jobs: Jobs;
  logger: Logger;
  webhookUrl: string;
  /** TEST_GATEWAY_WEBHOOK_SECRET; unset: generated once and stored (sealed with `box`). */
  webhookSecret?: string;
  box: SecretBox;
}

const unix = (date = new Date()) => Math.floor(date.getTime() / 1000);
const newId = (prefix: string) => `${prefix}_${randomBytes(12).toString('hex')}`;

export class TestGateway {
  private secret: Promise<string> | undefined;

  constructor(private readonly options: TestGatewayOptions) {
    if (options.webhookSecret) this.secret = Promise.resolve(options.webhookSecret);
  }

  /** Declares the gateway's own queues: webhook delivery and delayed outcomes. */
  defineJobs(): void {
    const { jobs } = this.options;
    jobs.define<{ event_id: string }>(DELIVER_QUEUE, (data) => this.deliver(data.event_id));
    jobs.define<{ kind: 'intent' | 'refund'; id: string }>(SETTLE_QUEUE, (data) =>
      data.kind === 'intent' ? this.settleIntent(data.id) : this.settleRefund(data.id),
    );
  }

  /** The secret both sides share, like the `whsec_…` a real gateway shows in its dashboard. */
  webhookSecret(): Promise<string> {
    this.secret ??= this.loadOrCreateSecret().catch((error: unknown) => {
      this.secret = undefined;
      throw error;
    });
    return this.secret;
  }

  private async loadOrCreateSecret(): Promise<string> {
    const { db, box } = this.options;
    const candidate = `whsec_test_${randomBytes(24).toString('base64url')}`;
    await db
      .insert(testGatewaySettings)
      .values({ name: WEBHOOK_SECRET, value: box.seal(candidate) })
      .onConflictDoNothing();
    const [row] = await db
      .select({ value: testGatewaySettings.value })
      .from(testGatewaySettings)
      .where(eq(testGatewaySettings.name, WEBHOOK_SECRET));
    if (!row) throw new Error('The test gateway could not store its webhook secret.');
    return box.open(row.value);
  }

  // Derived, not stored: a create call retried with its idempotency key returns the same secret.
  private async clientSecretOf(intentId: string): Promise<string> {
    const mac = createHmac('sha256', await this.webhookSecret())
      .update(`client-secret:${intentId}`)
      .digest('base64url');
    return `${intentId}_secret_${mac.slice(0, 32)}`;
  }

  // --- the server-side API (Bazaar's client calls these) ---

  async createIntent(input: {
    amount: number;
    currency: string;
    metadata: Record<string, string>;
    idempotencyKey: string;
  }): Promise<{ intent: Record<string, unknown>; clientSecret: string }> {
    const id = newId('pi_test');
    const clientSecret = await this.clientSecretOf(id);
    return this.options.db.transaction(async (tx) => {
      const [existing] = await tx
        .select()
        .from(testGatewayIntents)
        .where(eq(testGatewayIntents.idempotencyKey, input.idempotencyKey));
      if (existing) {
        if (existing.amount !== input.amount || existing.currency !== input.currency)
          throw new GatewayError(
            'This idempotency key was used with different parameters.',
            true,
            'idempotency_error',
          );
        return { intent: intentObject(existing), clientSecret: await this.clientSecretOf(existing.id) };
      }
      const [intent] = await tx
        .insert(testGatewayIntents)
        .values({
          id,
          clientSecretHash: sha256(clientSecret),
          amount: input.amount,
          currency: input.currency,
          metadata: input.metadata,
          idempotencyKey: input.idempotencyKey,
        })
        .returning();
      await this.emit(tx, intent!.id, 'payment.created', intentObject(intent!));
      return { intent: intentObject(intent!), clientSecret };
    });
  }

  async refund(input: {
    intentId: string;
    amount: number;
    idempotencyKey: string;
    metadata: Record<string, string>;
  }): Promise<{ id: string; status: Refund['status'] }> {
    return this.options.db.transaction(async (tx) => {
      const [existing] = await tx
        .select()
        .from(testGatewayRefunds)
        .where(eq(testGatewayRefunds.idempotencyKey, input.idempotencyKey));
      if (existing) return { id: existing.id, status: existing.status };
      const [intent] = await tx
        .select()
        .from(testGatewayIntents)
        .where(eq(testGatewayIntents.id, input.intentId))
        .for('update');
      if (!intent)
        throw new GatewayError(`No such payment intent: ${input.intentId}.`, true, 'resource_missing');
      if (intent.status !== 'succeeded')
        throw new GatewayError('Only a succeeded payment can be refunded.', true, 'charge_not_refundable');
      if (intent.amountRefunded + input.amount > intent.amount)
        throw new GatewayError('The refund exceeds the amount not yet refunded.', true, 'amount_too_large');
      await tx
        .update(testGatewayIntents)
        .set({ amountRefunded: intent.amountRefunded + input.amount, updatedAt: new Date() })
        .where(eq(testGatewayIntents.id, intent.id));
      const [refund] = await tx
        .insert(testGatewayRefunds)
        .values({
          id: newId('re_test'),
          intentId: intent.id,
          amount: input.amount,
          idempotencyKey: input.idempotencyKey,
          metadata: input.metadata,
        })
        .returning();
      // Refunds settle asynchronously, as with real card networks.
      await this.options.jobs.enqueue(tx, SETTLE_QUEUE, { kind: 'refund', id: refund!.id });
      return { id: refund!.id, status: refund!.status };
    });
  }

  // --- the public API (storefronts call these over HTTP) ---

  /** Confirms an intent with a test card; the outcome follows by webhook. */
  async confirm(
    id: string,
    clientSecret: string,
    cardNumber: string,
  ): Promise<{ status: number; body: Record<string, unknown> }> {
    const behaviour = testCards.get(normalizeCardNumber(cardNumber));
    return this.options.db.transaction(async (tx) => {
      const intent = await this.authorizedIntent(tx, id, clientSecret);
      if (intent.status !== 'requires_confirmation') throw unexpectedState(intent);
      if (!behaviour)
        throw new TestGatewayError(
          402,
          'card_error',
          'incorrect_number',
          'Your card number is incorrect. Use one of the test cards.',
        );
      const last4 = normalizeCardNumber(cardNumber).slice(-4);
      switch (behaviour) {
        case 'succeed':
          return { status: 200, body: await this.move(tx, intent, 'succeeded', 'payment.succeeded', last4) };
        case 'authenticate':
          return {
            status: 200,
            body: await this.move(tx, intent, 'requires_action', 'payment.requires_action', last4),
          };
        case 'fail_later': {
          const body = await this.move(tx, intent, 'processing', 'payment.processing', last4);
          await this.options.jobs.enqueue(
            tx,
            SETTLE_QUEUE,
            { kind: 'intent', id: intent.id },
            { startAfterSeconds: PROCESSING_SECONDS },
          );
          return { status: 200, body };
        }
        case 'decline': {
          const failure = { code: 'card_declined', message: 'Your card was declined.' };
          const view = await this.move(tx, intent, 'failed', 'payment.failed', last4, failure);
          // Answered, not thrown: the failure must commit with its webhook.
          const declined = new TestGatewayError(402, 'card_error', failure.code, failure.message, view);
          return { status: declined.status, body: declined.toJSON() };
        }
      }
    });
  }

  /** The customer's answer to the 3-D Secure-style challenge. */
  async authenticate(
    id: string,
    clientSecret: string,
    outcome: 'approve' | 'fail',
  ): Promise<Record<string, unknown>> {
    return this.options.db.transaction(async (tx) => {
      const intent = await this.authorizedIntent(tx, id, clientSecret);
      if (intent.status !== 'requires_action') throw unexpectedState(intent);
      return outcome === 'approve'
        ? this.move(tx, intent, 'succeeded', 'payment.succeeded')
        : this.move(tx, intent, 'failed', 'payment.failed', undefined, {
            code: 'payment_intent_authentication_failure',
            message: 'The customer failed to authenticate the payment.',
          });
    });
  }

  private async authorizedIntent(tx: Tx, id: string, clientSecret: string): Promise<Intent> {
    const [intent] = await intentForUpdate(tx, { id });
    if (!intent)
      throw new TestGatewayError(
        404,
        'invalid_request_error',
        'resource_missing',
        `No such payment intent: ${id}.`,
      );
    if (!safeEqual(sha256(clientSecret), intent.clientSecretHash))
      throw new TestGatewayError(
        401,
        'authentication_error',
        'invalid_client_secret',
        'The client secret does not belong to this payment intent.',
      );
    return intent;
  }

  private async move(
    tx: Tx,
    intent: Intent,
    status: string,
    eventType: string,
    cardLast4?: string,
    failure?: Failure,
  ): Promise<Record<string, unknown>> {
    const [moved] = await moveIntent(tx, {
      id: intent.id,
      status,
      updatedAt: new Date().toISOString(),
      cardLast4: cardLast4 || null,
    });
    const view = intentObject(moved!, failure);
    await this.emit(tx, intent.id, eventType, view);
    return view;
  }

  // --- asynchronous outcomes and webhook delivery (jobs) ---

  private async settleIntent(id: string): Promise<void> {
    await this.options.db.transaction(async (tx) => {
      const [intent] = await tx
        .select()
        .from(testGatewayIntents)
        .where(eq(testGatewayIntents.id, id))
        .for('update');
      if (intent?.status !== 'processing') return;
      await this.move(tx, intent, 'failed', 'payment.failed', undefined, {
        code: 'processing_error',
        message: 'The payment was accepted, then failed while processing.',
      });
    });
  }

  private async settleRefund(id: string): Promise<void> {
    await this.options.db.transaction(async (tx) => {
      const [refund] = await tx
        .update(testGatewayRefunds)
        .set({ status: 'succeeded', updatedAt: new Date() })
        .where(sql`${testGatewayRefunds.id} = ${id} and ${testGatewayRefunds.status} = 'pending'`)
        .returning();
      if (!refund) return;
      const [intent] = await tx
        .select({ currency: testGatewayIntents.currency })
        .from(testGatewayIntents)
        .where(eq(testGatewayIntents.id, refund.intentId));
      await this.emit(tx, refund.intentId, 'refund.succeeded', refundObject(refund, intent?.currency ?? ''));
    });
  }

  /** Records an event and enqueues its delivery, in the transaction of the change it reports. */
  private async emit(tx: Tx, intentId: string, type: string, object: Record<string, unknown>) {
    const id = newId('evt_test');
    const payload = { id, object: 'event', type, created: unix(), data: { object } };
    await tx.insert(testGatewayEvents).values({ id, intentId, type, payload });
    await this.options.jobs.enqueue(tx, DELIVER_QUEUE, { event_id: id });
  }

  /**
   * POSTs one event to the webhook URL, signed at sending time. Anything but a 2xx fails the
   * job, and pg-boss retries it with backoff: the gateway's own retries.
   */
  async deliver(eventId: string): Promise<void> {
    const { db, webhookUrl } = this.options;
    const [event] = await eventById(db, { id: eventId });
    if (!event || event.deliveredAt) return;
    const body = JSON.stringify(event.payload);
    let failure: string | undefined;
    try {
      const response = await fetch(webhookUrl, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'user-agent': 'BazaarTestGateway/1.0',
          [SIGNATURE_HEADER]: signWebhook(await this.webhookSecret(), body),
        },
        body,
        signal: AbortSignal.timeout(DELIVERY_TIMEOUT_MS),
      });
      await response.arrayBuffer();
      if (!response.ok) failure = `the endpoint answered ${response.status}`;
    } catch (error) {
      failure = (error as Error).message;
    }
    await recordDelivery(db, {
      id: eventId,
      deliveredAt: failure ? null : new Date().toISOString(),
      lastError: failure ?? null,
    });
    if (failure) throw new Error(`Webhook ${eventId} (${event.type}) not delivered: ${failure}`);
  }
}

/** The statements of the gateway's hot paths (a confirmation, a webhook delivery), built once. */
const intentForUpdate = prepared((db) =>
  db
    .select()
    .from(testGatewayIntents)
    .where(eq(testGatewayIntents.id, sql.placeholder('id')))
    .for('update')
    .prepare('test_gateway_intent_for_update'),
);

/** A null `cardLast4` leaves the card as it is. */
const moveIntent = prepared((db) =>
  db
    .update(testGatewayIntents)
    .set({
      status: sql`${sql.placeholder('status')}`,
      updatedAt: sql`${sql.placeholder('updatedAt')}::timestamptz`,
      cardLast4: sql`coalesce(${sql.placeholder('cardLast4')}, ${testGatewayIntents.cardLast4})`,
    })
    .where(eq(testGatewayIntents.id, sql.placeholder('id')))
    .returning()
    .prepare('test_gateway_intent_move'),
);

const eventById = prepared((db) =>
  db
    .select()
    .from(testGatewayEvents)
    .where(eq(testGatewayEvents.id, sql.placeholder('id')))
    .prepare('test_gateway_event_by_id'),
);

const recordDelivery = prepared((db) =>
  db
    .update(testGatewayEvents)
    .set({
      attempts: sql`${testGatewayEvents.attempts} + 1`,
      deliveredAt: sql`${sql.placeholder('deliveredAt')}::timestamptz`,
      lastError: sql`${sql.placeholder('lastError')}`,
    })
    .where(eq(testGatewayEvents.id, sql.placeholder('id')))
    .prepare('test_gateway_event_delivery'),
);

function unexpectedState(intent: Intent): TestGatewayError {
  return new TestGatewayError(
    400,
    'invalid_request_error',
    'payment_intent_unexpected_state',
    `This payment intent is ${intent.status}; the operation is not possible in that state.`,
    intentObject(intent),
  );
}

/** The gateway's wire format of a payment intent (Stripe's field names). */
export function intentObject(intent: Intent, failure?: Failure): Record<string, unknown> {
  return {
    id: intent.id,
    object: 'payment_intent',
    amount: intent.amount,
    amount_refunded: intent.amountRefunded,
    currency: intent.currency,
    status: intent.status,
    metadata: intent.metadata,
    card_last4: intent.cardLast4,
    last_payment_error: failure ?? null,
    next_action:
      intent.status === 'requires_action'
        ? {
            type: 'use_test_authentication',
            authenticate_url: `/test-gateway/v1/payment_intents/${intent.id}/authenticate`,
          }
        : null,
    created: unix(intent.createdAt),
  };
}

function refundObject(refund: Refund, currency: string): Record<string, unknown> {
  return {
    id: refund.id,
    object: 'refund',
    payment_intent: refund.intentId,
    amount: refund.amount,
    currency,
    status: refund.status,
    metadata: refund.metadata,
    created: unix(refund.createdAt),
  };
}
