import type { FastifyPluginCallbackZod } from 'fastify-type-provider-zod';
import { permissions } from '../../platform/security/permissions.js';
import { jwksResponse, openidConfigurationResponse } from './http-schemas.js';
import type { AuthServices } from './module.js';

/** Discovery documents for independent token verifiers and OAuth clients. */
export function wellKnownRoutes(auth: AuthServices): FastifyPluginCallbackZod {
  return (app, _options, done) => {
    app.get(
      '/.well-known/jwks.json',
      {
        schema: {
          operationId: 'getJwks',
          tags: ['auth'],
          summary: 'Public signing keys (JWKS)',
          description:
            'The RSA public keys that verify access tokens: the current signing key and retired keys whose tokens may still be valid. Cacheable for 5 minutes.',
          response: { 200: jwksResponse },
        },
      },
      async (request, reply) => {
        void reply.header('Cache-Control', 'public, max-age=300');
        return auth.keys.jwks(request.server.db);
      },
    );

    app.get(
      '/.well-known/openid-configuration',
      {
        schema: {
          operationId: 'getOpenIdConfiguration',
          tags: ['auth'],
          summary: 'Issuer metadata',
          description:
            'OpenID Connect Discovery / RFC 8414 metadata: issuer, JWKS and token endpoint, supported grants.',
          response: { 200: openidConfigurationResponse },
        },
      },
      async (_request, reply) => {
        const issuer = auth.config.publicUrl;
        void reply.header('Cache-Control', 'public, max-age=3600');
        return {
          issuer,
          jwks_uri: `${issuer}/.well-known/jwks.json`,
          token_endpoint: `${issuer}/oauth/token`,
          introspection_endpoint: `${issuer}/api/v1/auth/verify`,
          grant_types_supported: ['refresh_token', 'client_credentials'],
          response_types_supported: ['token'],
          token_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post'],
          id_token_signing_alg_values_supported: ['RS256'],
          subject_types_supported: ['public'],
          scopes_supported: [...permissions],
          claims_supported: ['iss', 'sub', 'aud', 'exp', 'iat', 'jti', 'sid', 'roles', 'scope', 'client_id'],
        };
      },
    );
    done();
  };
}
