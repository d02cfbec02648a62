import { z } from 'zod';
import { envelope, listEnvelope, paginationQuery } from '../../platform/http/envelope.js';
import {
  clientGrantable,
  permissions as allPermissions,
  roles,
} from '../../platform/security/permissions.js';
import { userSchema } from '../users/index.js';
import { PASSWORD_MAX_LENGTH, PASSWORD_MIN_LENGTH } from './password-policy.js';
import { RECOVERY_CODE_COUNT } from './totp.js';

const email = z.email().max(254).meta({ example: 'ada@example.com' });
// Limits in UTF-16 units; the policy counts characters, so an astral character may take two.
const newPassword = z
  .string()
  .min(PASSWORD_MIN_LENGTH)
  .max(PASSWORD_MAX_LENGTH * 2)
  .meta({
    description: `${PASSWORD_MIN_LENGTH} to ${PASSWORD_MAX_LENGTH} characters, not a commonly used password. Never truncated.`,
    example: 'correct horse battery staple',
  });
const givenPassword = z
  .string()
  .min(1)
  .max(1024)
  .meta({ description: 'The account’s current password.', example: 'correct horse battery staple' });
const opaqueToken = (description: string) => z.string().min(16).max(512).meta({ description });
const timestamp = z.iso.datetime().max(35);
const secondCode = z.string().trim().min(6).max(32).meta({
  description: 'A 6-digit code from the authenticator app, or one of the recovery codes.',
  example: '492039',
});

// ---- requests ----

export const registerBody = z
  .strictObject({
    email,
    password: newPassword,
    name: z.string().trim().min(1).max(200).meta({ example: 'Ada Lovelace' }),
  })
  .meta({ id: 'RegisterRequest', description: 'A new account: e-mail, password and optional name.' });
export const loginBody = z
  .strictObject({ email, password: givenPassword })
  .meta({ id: 'LoginRequest', description: 'E-mail and password of an existing account.' });
export const loginMfaBody = z
  .strictObject({
    challenge_id: z.uuid().meta({ description: 'From the `mfa_required` answer of sign-in.' }),
    code: secondCode,
  })
  .meta({
    id: 'LoginMfaRequest',
    description: 'The second step of a sign-in: the challenge id and a TOTP or recovery code.',
  });
export const refreshBody = z
  .strictObject({
    refresh_token: opaqueToken('The latest refresh token of the session; it is used up by this call.'),
  })
  .meta({
    id: 'RefreshRequest',
    description: 'A refresh token to exchange for a new token pair (the old one stops working).',
  });
export const introspectBody = z
  .strictObject({ token: z.string().min(1).max(8192).meta({ description: 'An access token.' }) })
  .meta({ id: 'IntrospectionRequest', description: 'A token to inspect.' });
export const changePasswordBody = z
  .strictObject({ current_password: givenPassword, new_password: newPassword })
  .meta({ id: 'ChangePasswordRequest', description: 'The current password and the new one.' });
export const forgotPasswordBody = z
  .strictObject({ email })
  .meta({ id: 'ForgotPasswordRequest', description: 'The e-mail address to send a reset link to.' });
export const resetPasswordBody = z
  .strictObject({ token: opaqueToken('The token from the reset link.'), new_password: newPassword })
  .meta({ id: 'ResetPasswordRequest', description: 'The token from the reset e-mail and the new password.' });
export const verifyEmailBody = z
  .strictObject({ token: opaqueToken('The token from the verification link.') })
  .meta({ id: 'VerifyEmailRequest', description: 'The token from the verification e-mail.' });
export const totpConfirmBody = z
  .strictObject({
    code: z
      .string()
      .trim()
      .regex(/^\d{6}$/)
      .max(6)
      .meta({ description: 'The current 6-digit code.', example: '492039' }),
  })
  .meta({
    id: 'TotpConfirmRequest',
    description: 'A code from the authenticator app, proving the enrolment worked.',
  });
export const totpDisableBody = z.strictObject({ password: givenPassword, code: secondCode.optional() }).meta({
  id: 'TotpDisableRequest',
  description: 'The password and a current code, to turn two-factor off.',
});
export const passwordOnlyBody = z.strictObject({ password: givenPassword }).meta({
  id: 'PasswordConfirmation',
  description: 'The account password, re-entered to confirm a sensitive action.',
});
export const sessionParams = z.strictObject({ id: z.uuid() });
export const clientParams = z.strictObject({ id: z.uuid() });
export const clientListQuery = z.strictObject({ ...paginationQuery });
export const createClientBody = z
  .strictObject({
    name: z.string().trim().min(1).max(100).meta({ example: 'Warehouse sync' }),
    permissions: z
      .array(z.enum(clientGrantable as [string, ...string[]]))
      .min(1)
      .max(clientGrantable.length)
      .meta({
        description: 'What the client may do; profile and own-order permissions cannot be granted.',
        example: ['products:read', 'inventory:write'],
      }),
  })
  .meta({
    id: 'CreateApiClientRequest',
    description: 'An API client to create: a name and the permissions its tokens carry.',
  });

// ---- responses ----

const expiresIn = z
  .int()
  .min(1)
  .max(31_536_000)
  .meta({ description: 'Seconds until the access token expires.', example: 900 });

export const tokenPairSchema = z
  .object({
    access_token: z
      .string()
      .max(8192)
      .meta({ description: 'RS256 JWT for the Authorization: Bearer header.' }),
    token_type: z.literal('Bearer'),
    expires_in: expiresIn,
    refresh_token: z
      .string()
      .max(512)
      .meta({ description: 'Opaque, single use: each refresh returns the next one.' }),
  })
  .meta({ id: 'TokenPair', description: 'OAuth 2.0 token fields.' });

export const mfaChallengeSchema = z
  .object({
    mfa_required: z.literal(true),
    challenge_id: z.uuid(),
    expires_in: z
      .int()
      .min(1)
      .max(86_400)
      .meta({ description: 'Seconds left to send the code to /auth/login/mfa.' }),
  })
  .meta({ id: 'MfaChallenge', description: 'The password was right; a second factor is needed.' });

export const registerResponse = envelope(
  tokenPairSchema
    .extend({ user: userSchema })
    .meta({ id: 'Registration', description: 'The created account and its first token pair.' }),
);
export const loginResponse = envelope(z.union([tokenPairSchema, mfaChallengeSchema]));
export const tokenPairResponse = envelope(tokenPairSchema);

const permissionList = z.array(z.enum(allPermissions)).max(allPermissions.length);

export const introspectionResponse = envelope(
  z
    .object({
      active: z.boolean(),
      sub: z
        .string()
        .max(200)
        .optional()
        .meta({ description: 'User id, or the client id of an API client.' }),
      roles: z.array(z.enum(roles)).max(roles.length).optional(),
      permissions: permissionList.optional(),
      exp: z
        .int()
        .min(0)
        .max(Number.MAX_SAFE_INTEGER)
        .optional()
        .meta({ description: 'Expiry, seconds since the epoch.' }),
      client_id: z.string().max(200).optional(),
    })
    .meta({
      id: 'Introspection',
      description:
        'Whether the token is usable now (signature, expiry, session, account), and whom it stands for.',
    }),
);

export const meResponse = envelope(
  z
    .object({
      id: z.uuid(),
      email: z.email().max(254),
      name: z.string().max(200),
      role: z.enum(roles),
      roles: z.array(z.enum(roles)).max(roles.length),
      permissions: permissionList,
      email_verified: z.boolean(),
      mfa_enabled: z.boolean(),
      created_at: timestamp,
    })
    .meta({ id: 'Me', description: 'The signed-in user with effective roles and permissions.' }),
);

export const sessionSchema = z
  .object({
    id: z.uuid(),
    created_at: timestamp,
    last_used_at: timestamp,
    expires_at: timestamp,
    ip: z.string().max(64).nullable(),
    user_agent: z.string().max(512).nullable(),
    current: z.boolean().meta({ description: 'The session of the token making this request.' }),
  })
  .meta({ id: 'Session', description: 'One signed-in device or client: when it started and was last used.' });
export const sessionListResponse = envelope(z.array(sessionSchema).max(100));

export const totpEnrollmentResponse = envelope(
  z
    .object({
      secret: z.string().max(64).meta({ description: 'Base32 secret, for typing into an app by hand.' }),
      otpauth_uri: z.string().max(512).meta({ description: 'otpauth:// URI to show as a QR code.' }),
    })
    .meta({
      id: 'TotpEnrollment',
      description: 'A TOTP secret and its otpauth:// URI to show as a QR code; confirm it with a code.',
    }),
);
export const recoveryCodesResponse = envelope(
  z
    .object({
      recovery_codes: z
        .array(z.string().max(16))
        .length(RECOVERY_CODE_COUNT)
        .meta({ description: 'Single-use codes for when the phone is lost. Shown only now.' }),
    })
    .meta({ id: 'RecoveryCodes', description: 'Single-use recovery codes, shown once.' }),
);

export const acceptedResponse = envelope(
  z
    .object({ accepted: z.literal(true) })
    .meta({ id: 'Accepted', description: 'The request was taken; any mail follows shortly.' }),
);
export const passwordResetResponse = envelope(z.object({ password_reset: z.literal(true) }));
export const emailVerifiedResponse = envelope(z.object({ email_verified: z.literal(true) }));
export const noContent = z.null().meta({ description: 'No content.' });

export const apiClientSchema = z
  .object({
    id: z.uuid(),
    client_id: z.string().max(64),
    name: z.string().max(100),
    permissions: permissionList,
    created_at: timestamp,
    last_used_at: timestamp.nullable(),
    revoked_at: timestamp.nullable(),
  })
  .meta({
    id: 'ApiClient',
    description: 'An OAuth 2.0 client for server-to-server access (client_credentials).',
  });
export const createdClientResponse = envelope(
  apiClientSchema
    .extend({
      client_secret: z.string().max(128).meta({ description: 'Shown only in this answer; store it safely.' }),
    })
    .meta({ id: 'CreatedApiClient', description: 'A new API client with its secret, shown only this once.' }),
);
export const clientListResponse = listEnvelope(apiClientSchema);

// ---- OAuth 2.0 (RFC 6749 shapes, no envelope) ----

const oauthField = (description: string) => z.string().max(4096).optional().meta({ description });

/** Permissive on purpose: problems are answered as RFC 6749 errors by the handler, not by validation. */
export const oauthTokenBody = z
  .object({
    grant_type: oauthField('`refresh_token` or `client_credentials`.'),
    refresh_token: oauthField('For grant_type=refresh_token.'),
    client_id: oauthField('For client_credentials (or use HTTP Basic).'),
    client_secret: oauthField('For client_credentials (or use HTTP Basic).'),
    scope: oauthField('Space-separated subset of the client’s permissions.'),
  })
  .meta({
    id: 'OAuthTokenRequest',
    description: 'An OAuth 2.0 token request (client_credentials or refresh_token grant).',
  });

export const oauthTokenResponse = z
  .object({
    access_token: z.string().max(8192),
    token_type: z.literal('Bearer'),
    expires_in: expiresIn,
    refresh_token: z.string().max(512).optional(),
    scope: z.string().max(2048).optional(),
  })
  .meta({ id: 'OAuthTokenResponse', description: 'An OAuth 2.0 access token response (RFC 6749 §5.1).' });

export const oauthErrorCodes = [
  'invalid_request',
  'invalid_client',
  'invalid_grant',
  'unsupported_grant_type',
  'invalid_scope',
] as const;
export type OAuthErrorCode = (typeof oauthErrorCodes)[number];
export const oauthError = z
  .object({ error: z.enum(oauthErrorCodes), error_description: z.string().max(500) })
  .meta({ id: 'OAuthError', description: 'RFC 6749 §5.2 error.' });

// ---- discovery ----

export const jwksResponse = z
  .object({
    keys: z
      .array(
        z.object({
          kty: z.literal('RSA'),
          kid: z.string().max(64),
          alg: z.literal('RS256'),
          use: z.literal('sig'),
          n: z.string().max(1024),
          e: z.string().max(16),
        }),
      )
      .max(20),
  })
  .meta({
    id: 'JsonWebKeySet',
    description: 'The public keys that verify Bazaar’s access tokens (RFC 7517).',
  });

export const openidConfigurationResponse = z
  .object({
    issuer: z.string().max(2048),
    jwks_uri: z.string().max(2048),
    token_endpoint: z.string().max(2048),
    introspection_endpoint: z.string().max(2048),
    grant_types_supported: z.array(z.string().max(64)).max(10),
    response_types_supported: z.array(z.string().max(64)).max(10),
    token_endpoint_auth_methods_supported: z.array(z.string().max(64)).max(10),
    id_token_signing_alg_values_supported: z.array(z.string().max(16)).max(5),
    subject_types_supported: z.array(z.string().max(16)).max(5),
    scopes_supported: z.array(z.string().max(64)).max(100),
    claims_supported: z.array(z.string().max(32)).max(30),
  })
  .meta({
    id: 'OpenIdConfiguration',
    description: 'Discovery document: issuer, endpoints and supported algorithms.',
  });
