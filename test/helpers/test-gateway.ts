/** Paying for an order as a storefront does with the built-in test gateway. */
import { waitForOrderStatus } from '../payments-helpers.js';
import type { TestApp } from './app.js';

/** The card the test gateway always accepts. */
export const SUCCEEDING_CARD = '4242 4242 4242 4242';

/** A payment attempt as `POST /api/v1/orders/:id/payments` answers it. */
export interface TestGatewayPayment {
  id: string;
  status: string;
  amount: number;
  currency: string;
  gateway: string;
  gateway_reference: string;
  client_secret: string;
}

/**
 * Creates a test-gateway payment for the order and confirms it at the gateway with `card` and the
 * client secret, over real HTTP (the app must be started with `listen: true`). Answers the payment
 * and the gateway's answer to the confirm (200 when accepted, 402 when the card is declined); the
 * outcome reaches the order later, by the gateway's webhook.
 */
export async function startTestGatewayPayment(
  app: TestApp,
  token: string,
  orderId: string,
  card: string,
): Promise<{ payment: TestGatewayPayment; confirmation: { status: number; raw: string } }> {
  if (!app.url) throw new Error('the test gateway is confirmed over HTTP: start the app with listen: true');
  const created = await app.api('POST', `/api/v1/orders/${orderId}/payments`, { gateway: 'test' }, token);
  if (created.status !== 201) throw new Error(`payment: ${created.status} ${created.raw}`);
  const payment = created.body.data as TestGatewayPayment;
  return { payment, confirmation: await confirmAtTestGateway(app.url, payment, card) };
}

/**
 * Confirms a test-gateway payment with `card` and its client secret at the server `baseUrl`, as a
 * storefront does: 200 when accepted, 402 when the card is declined.
 */
export async function confirmAtTestGateway(
  baseUrl: string,
  payment: Pick<TestGatewayPayment, 'gateway_reference' | 'client_secret'>,
  card: string,
): Promise<{ status: number; raw: string }> {
  const confirmed = await fetch(
    `${baseUrl}/test-gateway/v1/payment_intents/${payment.gateway_reference}/confirm`,
    {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ client_secret: payment.client_secret, card_number: card }),
    },
  );
  return { status: confirmed.status, raw: await confirmed.text() };
}

/**
 * Pays for the order through the test gateway: creates a payment, confirms it with 4242 4242 4242
 * 4242, and waits until the gateway's webhook has made the order `paid`. Answers the payment.
 */
export async function payThroughTestGateway(
  app: TestApp,
  token: string,
  orderId: string,
): Promise<TestGatewayPayment> {
  const { payment, confirmation } = await startTestGatewayPayment(app, token, orderId, SUCCEEDING_CARD);
  if (confirmation.status !== 200)
    throw new Error(`test gateway confirm: ${confirmation.status} ${confirmation.raw}`);
  await waitForOrderStatus(app, token, orderId, 'paid');
  return payment;
}
