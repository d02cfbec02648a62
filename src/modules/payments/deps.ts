import { AppError } from '../../platform/errors.js';
import type { Jobs } from '../../platform/jobs/jobs.js';
import type { Logger } from '../../platform/observability/logger.js';
import type { Metrics } from '../../platform/observability/metrics.js';
import type { GatewayName, PaymentGateway } from './gateway.js';

/** What the module's services share: the enabled gateways, jobs, the seller on invoices. */
export interface PaymentsDeps {
  jobs: Jobs;
  logger: Logger;
  metrics?: Pick<Metrics, 'revenue'>;
  gateways: ReadonlyMap<GatewayName, PaymentGateway>;
  /** The gateway of a payment request that names none. */
  defaultGateway: GatewayName | undefined;
  shop: { name: string; address: string[] };
}

/** Sends a refund to the gateway outside any request: automatic refunds and retries. */
export const REFUND_SUBMIT_QUEUE = 'payments.refund-submit';

export function gatewayFor(deps: PaymentsDeps, name: string | undefined): PaymentGateway {
  const chosen = name ?? deps.defaultGateway;
  const gateway = chosen ? deps.gateways.get(chosen as GatewayName) : undefined;
  if (!gateway) {
    throw new AppError('VALIDATION_ERROR', 'The request is invalid.', [
      {
        field: 'gateway',
        message: `the ${chosen ?? 'payment'} gateway is not enabled here; enabled: ${[...deps.gateways.keys()].join(', ') || 'none'}`,
      },
    ]);
  }
  return gateway;
}
