import type { Context } from '../../platform/context.js';
import { AppError } from '../../platform/errors.js';
import type { ApiClients } from './clients.js';
import type { OAuthErrorCode } from './http-schemas.js';
import type { Sessions } from './sessions.js';

export interface OAuthTokenRequest {
  grant_type?: string;
  refresh_token?: string;
  client_id?: string;
  client_secret?: string;
  scope?: string;
}

export interface OAuthToken {
  access_token: string;
  token_type: 'Bearer';
  expires_in: number;
  refresh_token?: string;
  scope?: string;
}

export type OAuthOutcome =
  { ok: true; token: OAuthToken } | { ok: false; error: OAuthErrorCode; description: string };

const failure = (error: OAuthErrorCode, description: string): OAuthOutcome => ({
  ok: false,
  error,
  description,
});

/** The token endpoint's grants (RFC 6749 §5): refresh_token and client_credentials. */
export async function exchangeToken(
  services: { sessions: Sessions; clients: ApiClients },
  ctx: Context,
  body: OAuthTokenRequest,
  authorization: string | undefined,
): Promise<OAuthOutcome> {
  switch (body.grant_type) {
    case 'refresh_token':
      return refreshTokenGrant(services.sessions, ctx, body);
    case 'client_credentials':
      return clientCredentialsGrant(services.clients, ctx, body, authorization);
    case undefined:
    case '':
      return failure('invalid_request', 'grant_type is required.');
    default:
      return failure('unsupported_grant_type', 'Supported grant types: refresh_token, client_credentials.');
  }
}

async function refreshTokenGrant(
  sessions: Sessions,
  ctx: Context,
  body: OAuthTokenRequest,
): Promise<OAuthOutcome> {
  if (!body.refresh_token) return failure('invalid_request', 'refresh_token is required.');
  try {
    return { ok: true, token: await sessions.refresh(ctx, body.refresh_token) };
  } catch (error) {
    if (error instanceof AppError && error.code === 'AUTH_FAILED')
      return failure('invalid_grant', error.message);
    throw error;
  }
}

async function clientCredentialsGrant(
  clients: ApiClients,
  ctx: Context,
  body: OAuthTokenRequest,
  authorization: string | undefined,
): Promise<OAuthOutcome> {
  const basic = authorization ? parseBasicCredentials(authorization) : undefined;
  if (authorization && !basic)
    return failure('invalid_client', 'The Authorization header is not valid HTTP Basic.');
  // RFC 6749 §2.3: a client uses one authentication method per request.
  if (basic && (body.client_id || body.client_secret)) {
    return failure(
      'invalid_request',
      'Send the client credentials either in the Authorization header or in the body, not both.',
    );
  }
  const credentials = basic ?? { clientId: body.client_id, clientSecret: body.client_secret };
  if (!credentials.clientId || !credentials.clientSecret)
    return failure('invalid_client', 'client_id and client_secret are required.');
  const grant = await clients.grant(ctx, {
    clientId: credentials.clientId,
    clientSecret: credentials.clientSecret,
    scope: body.scope,
  });
  return grant.ok ? grant : failure(grant.error, grant.description);
}

/** `Basic base64(urlencode(id):urlencode(secret))` as RFC 6749 §2.3.1 specifies. */
export function parseBasicCredentials(
  header: string,
): { clientId: string; clientSecret: string } | undefined {
  const match = /^Basic ([A-Za-z0-9+/=]{1,2048})$/i.exec(header.trim());
  if (!match) return undefined;
  const decoded = Buffer.from(match[1]!, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return undefined;
  try {
    const unescape = (value: string) => decodeURIComponent(value.replace(/\+/g, ' '));
    return { clientId: unescape(decoded.slice(0, colon)), clientSecret: unescape(decoded.slice(colon + 1)) };
  } catch {
    return undefined;
  }
}
