import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { ConfigError, type Config } from '../../config.js';
import type { Cache } from '../../platform/cache/cache.js';
import type { Database } from '../../platform/db/client.js';
import type { Jobs } from '../../platform/jobs/jobs.js';
import type { Logger } from '../../platform/observability/logger.js';
import type { Metrics } from '../../platform/observability/metrics.js';
import { SecretBox } from '../../platform/security/secret-box.js';
import { registerUserDataContributor } from '../users/index.js';
import type { PaymentsDeps } from './deps.js';
import type { GatewayName, PaymentGateway } from './gateway.js';
import { subscribeInvoices } from './invoices.js';
import { defineRefundJob } from './refunds.js';
import { paymentRoutes } from './routes.js';
import { StripeGateway } from './stripe-gateway.js';
import { TestGatewayClient } from './test-gateway/client.js';
import { testGatewayRoutes } from './test-gateway/routes.js';
import { TestGateway } from './test-gateway/service.js';
import { paymentsUserData } from './user-data.js';

export interface PaymentsModuleDeps {
  config: Config;
  db: Database;
  jobs: Jobs;
  logger: Logger;
  /** Revenue is counted in `bazaar_revenue_minor_units_total` when a capture commits. */
  metrics?: Metrics;
  /** The read cache: refunds the worker completes change cached orders. */
  cache?: Cache;
}

export interface PaymentsModule {
  /** The gateways payments can be made with here. */
  readonly gateways: readonly GatewayName[];
  /** The built-in test gateway, when enabled (its secret and API, for tests and tooling). */
  readonly testGateway: TestGateway | undefined;
  /** Payments, refunds, invoices and webhooks; register under `/api/v1`. */
  routes: FastifyPluginAsyncZod;
  /** The test gateway's own API at `/test-gateway/v1`; register at the root. */
  rootRoutes: FastifyPluginAsyncZod;
}

export function createPaymentsModule(deps: PaymentsModuleDeps): PaymentsModule {
  const { config, db, jobs, logger } = deps;
  if (Boolean(config.STRIPE_SECRET_KEY) !== Boolean(config.STRIPE_WEBHOOK_SECRET)) {
    throw new ConfigError(
      'STRIPE_SECRET_KEY and STRIPE_WEBHOOK_SECRET go together: set both to enable Stripe, or neither.',
    );
  }
  const gateways = new Map<GatewayName, PaymentGateway>();

  let testGateway: TestGateway | undefined;
  if (config.TEST_GATEWAY_ENABLED ?? config.NODE_ENV !== 'production') {
    if (config.NODE_ENV === 'production')
      logger.warn('the test payment gateway is enabled in production: test cards can pay orders');
    testGateway = new TestGateway({
      db,
      jobs,
      logger,
      webhookUrl: config.TEST_GATEWAY_WEBHOOK_URL ?? `${config.publicUrl}/api/v1/webhooks/test`,
      webhookSecret: config.TEST_GATEWAY_WEBHOOK_SECRET,
      box: new SecretBox(config.KEY_ENCRYPTION_KEY),
    });
    testGateway.defineJobs();
    gateways.set('test', new TestGatewayClient(testGateway, config.WEBHOOK_TOLERANCE_SECONDS));
  }
  if (config.STRIPE_SECRET_KEY && config.STRIPE_WEBHOOK_SECRET) {
    gateways.set(
      'stripe',
      new StripeGateway({
        secretKey: config.STRIPE_SECRET_KEY,
        webhookSecret: config.STRIPE_WEBHOOK_SECRET,
        apiBase: config.STRIPE_API_BASE,
        toleranceSeconds: config.WEBHOOK_TOLERANCE_SECONDS,
      }),
    );
  }

  const services: PaymentsDeps = {
    jobs,
    logger,
    metrics: deps.metrics,
    gateways,
    defaultGateway: gateways.has('stripe') ? 'stripe' : gateways.has('test') ? 'test' : undefined,
    shop: {
      name: config.SHOP_NAME,
      address: (config.SHOP_ADDRESS ?? '')
        .split('|')
        .map((line) => line.trim())
        .filter(Boolean),
    },
  };
  defineRefundJob(db, services, deps.cache);
  subscribeInvoices(db, services);
  registerUserDataContributor(paymentsUserData);

  const gatewayRoutes = testGateway ? testGatewayRoutes(testGateway) : undefined;
  return {
    gateways: [...gateways.keys()],
    testGateway,
    routes: paymentRoutes(services),
    rootRoutes: async (app) => {
      if (gatewayRoutes) await app.register(gatewayRoutes);
    },
  };
}
