import type { FastifyError, FastifyReply } from 'fastify';
import type { FastifyPluginCallbackZod } from 'fastify-type-provider-zod';
import { hasZodFastifySchemaValidationErrors } from 'fastify-type-provider-zod';
import { sendError, toErrorBody } from '../../platform/http/errors.js';
import { contextOf } from '../../platform/http/server.js';
import { oauthError, oauthTokenBody, oauthTokenResponse, type OAuthErrorCode } from './http-schemas.js';
import type { AuthServices } from './module.js';
import { exchangeToken } from './oauth.js';

/**
 * POST /oauth/token answers in the plain RFC 6749 shape (no Bazaar envelope) so standard OAuth
 * client libraries work. Its own error handler turns malformed requests into `invalid_request`;
 * everything else (413, 415, 429, 500) keeps the platform's envelope.
 */
export function oauthRoutes(auth: AuthServices): FastifyPluginCallbackZod {
  return (app, _options, done) => {
    app.post(
      '/oauth/token',
      {
        schema: {
          operationId: 'oauthToken',
          tags: ['auth'],
          summary: 'OAuth 2.0 token endpoint',
          description:
            'RFC 6749 token endpoint, form-encoded or JSON. `grant_type=refresh_token` rotates a sign-in session’s refresh token; `grant_type=client_credentials` issues an access token to an API client (credentials by HTTP Basic or in the body; optional `scope` narrows its permissions). Errors use RFC 6749 codes, without the envelope.',
          consumes: ['application/x-www-form-urlencoded', 'application/json'],
          body: oauthTokenBody,
          response: {
            200: oauthTokenResponse,
            400: oauthError.describe(
              'invalid_request, invalid_grant, unsupported_grant_type or invalid_scope.',
            ),
            401: oauthError.describe('invalid_client; the answer carries `WWW-Authenticate: Basic`.'),
          },
        },
        errorHandler: (error, request, reply) => {
          if (isMalformedRequest(error)) {
            void sendOAuthError(reply, 'invalid_request', 'The request body is malformed.');
            return;
          }
          const { status, error: body } = toErrorBody(error);
          if (status >= 500) request.log.error({ err: error }, 'request failed');
          void sendError(request, reply, status, body);
        },
      },
      async (request, reply) => {
        const outcome = await exchangeToken(
          auth,
          contextOf(request),
          request.body ?? {},
          request.headers.authorization,
        );
        if (!outcome.ok) return sendOAuthError(reply, outcome.error, outcome.description);
        return noStore(reply).code(200).send(outcome.token);
      },
    );
    done();
  };
}

function sendOAuthError(reply: FastifyReply, error: OAuthErrorCode, description: string) {
  if (error === 'invalid_client')
    void reply.header('WWW-Authenticate', 'Basic realm="bazaar", charset="UTF-8"');
  return noStore(reply)
    .code(error === 'invalid_client' ? 401 : 400)
    .send({ error, error_description: description });
}

function noStore(reply: FastifyReply): FastifyReply {
  return reply.header('Cache-Control', 'no-store').header('Pragma', 'no-cache');
}

function isMalformedRequest(error: FastifyError | Error): boolean {
  if (hasZodFastifySchemaValidationErrors(error)) return true;
  const code = (error as Partial<FastifyError>).code;
  return (
    code === 'FST_ERR_CTP_INVALID_JSON_BODY' ||
    code === 'FST_ERR_CTP_EMPTY_JSON_BODY' ||
    error instanceof SyntaxError
  );
}
