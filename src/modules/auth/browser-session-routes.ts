import type { FastifyReply, FastifyRequest } from 'fastify';
import type { FastifyPluginCallbackZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { envelope, errorEnvelope } from '../../platform/http/envelope.js';
import { contextOf } from '../../platform/http/server.js';
import {
  assertSameOriginRequest,
  clearedRefreshCookie,
  CSRF_HEADER,
  refreshCookie,
  refreshTokenFromCookie,
  setRefreshCookie,
} from './browser-session.js';
import { loginBody, loginMfaBody, mfaChallengeSchema, noContent, tokenPairSchema } from './http-schemas.js';
import type { AuthServices } from './module.js';
import type { TokenPair } from './sessions.js';
import { revokeCurrentSession } from './sessions.js';
import { AppError } from '../../platform/errors.js';

const tags = ['auth'];
const accessTokenSchema = tokenPairSchema
  .omit({ refresh_token: true })
  .meta({ id: 'BrowserAccessToken', description: 'An access token; the refresh token is in the cookie.' });
const accessTokenResponse = envelope(accessTokenSchema);
const browserLoginResponse = envelope(z.union([accessTokenSchema, mfaChallengeSchema]));
const csrfHeaders = z.object({
  [CSRF_HEADER]: z.literal('1').meta({ description: 'Required: proves the request is not cross-site.' }),
});
const csrfRefused = errorEnvelope.describe(
  `FORBIDDEN: the ${CSRF_HEADER} header is missing, or the request came from another origin.`,
);
const cookieNote =
  'Browser-session mode: the refresh token is set as an httpOnly, SameSite=Strict cookie scoped to /api/v1/auth/session (Secure over TLS) and is never in the body. Requests must carry the `X-Bazaar-CSRF: 1` header and, when the browser sends one, an Origin of this server.';

/** Sign-in for browsers (the admin dashboard): the refresh token never reaches page scripts. */
export function browserSessionRoutes(auth: AuthServices): FastifyPluginCallbackZod {
  const { config } = auth;
  const answerTokens = (request: FastifyRequest, reply: FastifyReply, tokens: TokenPair) => {
    setRefreshCookie(reply, refreshCookie(request, tokens.refresh_token, config.REFRESH_TOKEN_TTL));
    const { refresh_token: _cookieOnly, ...access } = tokens;
    return { request_id: request.id, data: access };
  };
  const sameOrigin = async (request: FastifyRequest) => assertSameOriginRequest(request, config.publicUrl);

  return (app, _options, done) => {
    app.post(
      '/auth/session/login',
      {
        preHandler: sameOrigin,
        schema: {
          operationId: 'browserLogin',
          tags,
          summary: 'Sign in (browser session)',
          description: `Like /auth/login, for browsers. ${cookieNote}`,
          headers: csrfHeaders,
          body: loginBody,
          response: {
            200: browserLoginResponse,
            401: errorEnvelope.describe('Invalid credentials.'),
            403: csrfRefused,
          },
        },
      },
      async (request, reply) => {
        const result = await auth.login.signIn(contextOf(request), request.body);
        if (result.kind === 'signed_in') return answerTokens(request, reply, result.tokens);
        return {
          request_id: request.id,
          data: {
            mfa_required: true as const,
            challenge_id: result.challengeId,
            expires_in: result.expiresIn,
          },
        };
      },
    );

    app.post(
      '/auth/session/login/mfa',
      {
        preHandler: sameOrigin,
        schema: {
          operationId: 'browserLoginMfa',
          tags,
          summary: 'Complete a browser sign-in with a second factor',
          description: `Like /auth/login/mfa, for browsers. ${cookieNote}`,
          headers: csrfHeaders,
          body: loginMfaBody,
          response: {
            200: accessTokenResponse,
            401: errorEnvelope.describe('Wrong code, or the challenge expired.'),
            403: csrfRefused,
          },
        },
      },
      async (request, reply) => {
        const tokens = await auth.login.completeSecondFactor(contextOf(request), {
          challengeId: request.body.challenge_id,
          code: request.body.code,
        });
        return answerTokens(request, reply, tokens);
      },
    );

    app.post(
      '/auth/session/refresh',
      {
        preHandler: sameOrigin,
        schema: {
          operationId: 'browserRefresh',
          tags,
          summary: 'Refresh a browser session',
          description: `Uses the refresh-token cookie once and sets the next one; answers a new access token. ${cookieNote}`,
          headers: csrfHeaders,
          response: {
            200: accessTokenResponse,
            401: errorEnvelope.describe(
              'No session cookie, or its refresh token is used, expired or revoked.',
            ),
            403: csrfRefused,
          },
        },
      },
      async (request, reply) => {
        const token = refreshTokenFromCookie(request);
        if (!token) throw new AppError('AUTH_FAILED', 'There is no browser session; sign in.');
        try {
          return answerTokens(request, reply, await auth.sessions.refresh(contextOf(request), token));
        } catch (error) {
          setRefreshCookie(reply, clearedRefreshCookie(request));
          throw error;
        }
      },
    );

    app.post(
      '/auth/session/logout',
      {
        config: { permission: 'authenticated' },
        preHandler: sameOrigin,
        schema: {
          operationId: 'browserLogout',
          tags,
          summary: 'Sign out a browser session',
          description:
            'Ends the session of this access token (like /auth/logout) and clears the refresh-token cookie. Answers 204.',
          headers: csrfHeaders,
          response: { 204: noContent, 403: csrfRefused },
        },
      },
      async (request, reply) => {
        await revokeCurrentSession(contextOf(request));
        setRefreshCookie(reply, clearedRefreshCookie(request));
        return reply.code(204).send(null);
      },
    );

    done();
  };
}
