import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { hasZodFastifySchemaValidationErrors } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { TestGatewayError, type TestGateway } from './service.js';

const params = z.strictObject({ id: z.string().regex(/^pi_test_[0-9a-f]{24}$/) });
const clientSecret = z.string().min(1).max(200);

/**
 * The test gateway's public HTTP API, as a storefront calls a real gateway's client library:
 * plain JSON in the gateway's own shape (not Bazaar's envelope), Stripe-style errors. Not part of
 * Bazaar's API, so hidden from its OpenAPI document.
 */
export function testGatewayRoutes(gateway: TestGateway): FastifyPluginAsyncZod {
  return async (app) => {
    app.setErrorHandler((error, request, reply) => {
      if (error instanceof TestGatewayError) return reply.code(error.status).send(error.toJSON());
      const status = (error as { statusCode?: number }).statusCode;
      if (hasZodFastifySchemaValidationErrors(error) || (status && status >= 400 && status < 500)) {
        return reply.code(status && status !== 500 ? status : 400).send({
          error: {
            type: 'invalid_request_error',
            code: 'parameter_invalid',
            message: 'The request is invalid.',
          },
        });
      }
      request.log.error({ err: error }, 'test gateway request failed');
      return reply.code(500).send({
        error: { type: 'api_error', code: 'internal_error', message: 'An unexpected error occurred.' },
      });
    });

    app.post(
      '/test-gateway/v1/payment_intents/:id/confirm',
      {
        schema: {
          hide: true,
          params,
          body: z.object({ client_secret: clientSecret, card_number: z.string().min(1).max(32) }),
        },
      },
      async (request, reply) => {
        const { status, body } = await gateway.confirm(
          request.params.id,
          request.body.client_secret,
          request.body.card_number,
        );
        return reply.code(status).send(body);
      },
    );

    app.post(
      '/test-gateway/v1/payment_intents/:id/authenticate',
      {
        schema: {
          hide: true,
          params,
          body: z.object({ client_secret: clientSecret, outcome: z.enum(['approve', 'fail']) }),
        },
      },
      async (request) =>
        gateway.authenticate(request.params.id, request.body.client_secret, request.body.outcome),
    );
  };
}
