import type { FastifyPluginCallbackZod } from 'fastify-type-provider-zod';
import { errorEnvelope } from '../../platform/http/envelope.js';
import { contextOf } from '../../platform/http/server.js';
import type { Permission, Role } from '../../platform/security/permissions.js';
import { getUser, toUserDto } from '../users/index.js';
import { signedInUserId } from './policy.js';
import {
  acceptedResponse,
  changePasswordBody,
  emailVerifiedResponse,
  forgotPasswordBody,
  introspectBody,
  introspectionResponse,
  loginBody,
  loginMfaBody,
  loginResponse,
  meResponse,
  noContent,
  passwordResetResponse,
  refreshBody,
  registerBody,
  registerResponse,
  resetPasswordBody,
  sessionListResponse,
  sessionParams,
  tokenPairResponse,
  verifyEmailBody,
} from './http-schemas.js';
import type { AuthServices } from './module.js';
import { listLiveSessions, revokeAllSessionsOf, revokeCurrentSession, revokeOwnSession } from './sessions.js';

const tags = ['auth'];
const signInFailed = errorEnvelope.describe('Invalid credentials (the same answer for unknown accounts).');
const conflict = (why: string) => errorEnvelope.describe(why);

/** Sign-up, sign-in, tokens, sessions, password and e-mail verification. */
export function authRoutes(auth: AuthServices): FastifyPluginCallbackZod {
  return (app, _options, done) => {
    app.post(
      '/auth/register',
      {
        schema: {
          operationId: 'register',
          tags,
          summary: 'Create an account',
          description: 'Creates a user account, signs it in and mails an e-mail verification link.',
          body: registerBody,
          response: { 201: registerResponse, 409: conflict('An account with this e-mail already exists.') },
        },
      },
      async (request, reply) => {
        const { user, tokens } = await auth.login.register(contextOf(request), request.body);
        return reply.code(201).send({ request_id: request.id, data: { user: toUserDto(user), ...tokens } });
      },
    );

    app.post(
      '/auth/login',
      {
        schema: {
          operationId: 'login',
          tags,
          summary: 'Sign in',
          description:
            'Checks e-mail and password. Answers tokens, or `mfa_required` with a challenge when two-factor authentication is on. Failed attempts are limited per account and per IP (429 with Retry-After).',
          body: loginBody,
          response: { 200: loginResponse, 401: signInFailed },
        },
      },
      async (request) => {
        const result = await auth.login.signIn(contextOf(request), request.body);
        const data =
          result.kind === 'signed_in'
            ? result.tokens
            : { mfa_required: true as const, challenge_id: result.challengeId, expires_in: result.expiresIn };
        return { request_id: request.id, data };
      },
    );

    app.post(
      '/auth/login/mfa',
      {
        schema: {
          operationId: 'loginMfa',
          tags,
          summary: 'Complete sign-in with a second factor',
          description:
            'Sends the TOTP code (or a recovery code) for a sign-in challenge. A challenge allows 5 attempts.',
          body: loginMfaBody,
          response: {
            200: tokenPairResponse,
            401: errorEnvelope.describe('Wrong code, or the challenge expired.'),
          },
        },
      },
      async (request) => {
        const tokens = await auth.login.completeSecondFactor(contextOf(request), {
          challengeId: request.body.challenge_id,
          code: request.body.code,
        });
        return { request_id: request.id, data: tokens };
      },
    );

    app.post(
      '/auth/refresh',
      {
        schema: {
          operationId: 'refreshTokens',
          tags,
          summary: 'Refresh the tokens',
          description:
            'Exchanges the refresh token for a new access token and a new refresh token. Each refresh token works once: presenting a used one ends the whole session.',
          body: refreshBody,
          response: {
            200: tokenPairResponse,
            401: errorEnvelope.describe('The refresh token is invalid, used, expired or revoked.'),
          },
        },
      },
      async (request) => ({
        request_id: request.id,
        data: await auth.sessions.refresh(contextOf(request), request.body.refresh_token),
      }),
    );

    app.post(
      '/auth/logout',
      {
        config: { permission: 'authenticated' },
        schema: {
          operationId: 'logout',
          tags,
          summary: 'Sign out',
          description:
            'Ends the session of this access token: its refresh token and access token stop working at once. Answers 204.',
          response: { 204: noContent },
        },
      },
      async (request, reply) => {
        await revokeCurrentSession(contextOf(request));
        return reply.code(204).send(null);
      },
    );

    app.post(
      '/auth/logout-all',
      {
        config: { permission: 'authenticated' },
        schema: {
          operationId: 'logoutAll',
          tags,
          summary: 'Sign out everywhere',
          description: 'Ends every session of the signed-in user, this one included. Answers 204.',
          response: { 204: noContent },
        },
      },
      async (request, reply) => {
        await revokeAllSessionsOf(contextOf(request));
        return reply.code(204).send(null);
      },
    );

    app.post(
      '/auth/verify',
      {
        schema: {
          operationId: 'introspectToken',
          tags,
          summary: 'Introspect an access token',
          description:
            'Tells whether an access token is usable right now (signature, expiry, session and account state) and whom it stands for. Never fails for a bad token: it answers `active: false`.',
          body: introspectBody,
          response: { 200: introspectionResponse },
        },
      },
      async (request) => ({ request_id: request.id, data: await auth.tokens.introspect(request.body.token) }),
    );

    app.get(
      '/auth/me',
      {
        config: { permission: 'authenticated' },
        schema: {
          operationId: 'getAuthenticatedUser',
          tags,
          summary: 'Who am I',
          description:
            'The signed-in user with effective roles and permissions, verification and two-factor state.',
          response: { 200: meResponse },
        },
      },
      async (request) => {
        const ctx = contextOf(request);
        const user = toUserDto(await getUser(ctx, signedInUserId(ctx)));
        const actor = request.actor!;
        return {
          request_id: request.id,
          data: {
            id: user.id,
            email: user.email,
            name: user.name,
            role: user.role,
            roles: actor.roles as Role[],
            permissions: [...actor.permissions].sort() as Permission[],
            email_verified: user.email_verified,
            mfa_enabled: await auth.mfa.isEnabled(ctx.db, user.id),
            created_at: user.created_at,
          },
        };
      },
    );

    app.get(
      '/auth/sessions',
      {
        config: { permission: 'authenticated' },
        schema: {
          operationId: 'listSessions',
          tags,
          summary: 'Your sessions',
          description: 'The signed-in user’s active sessions (devices), most recently used first.',
          response: { 200: sessionListResponse },
        },
      },
      async (request) => {
        const ctx = contextOf(request);
        const rows = await listLiveSessions(ctx.db, signedInUserId(ctx));
        return {
          request_id: request.id,
          data: rows.map((s) => ({
            id: s.id,
            created_at: s.createdAt.toISOString(),
            last_used_at: s.lastUsedAt.toISOString(),
            expires_at: s.expiresAt.toISOString(),
            ip: s.ip,
            user_agent: s.userAgent,
            current: s.id === request.actor!.sessionId,
          })),
        };
      },
    );

    app.delete(
      '/auth/sessions/:id',
      {
        config: { permission: 'authenticated' },
        schema: {
          operationId: 'revokeSession',
          tags,
          summary: 'End one of your sessions',
          description:
            'Signs out one of your sessions (another device). An id that is not one of your active sessions answers 404.',
          params: sessionParams,
          response: { 204: noContent },
        },
      },
      async (request, reply) => {
        const ctx = contextOf(request);
        await revokeOwnSession(ctx, signedInUserId(ctx), request.params.id);
        return reply.code(204).send(null);
      },
    );

    app.post(
      '/auth/password/change',
      {
        config: { permission: 'authenticated' },
        schema: {
          operationId: 'changePassword',
          tags,
          summary: 'Change your password',
          description:
            'Needs the current password. Every other session is signed out; this one stays. Answers 204.',
          body: changePasswordBody,
          response: { 204: noContent },
        },
      },
      async (request, reply) => {
        await auth.passwords.change(contextOf(request), {
          currentPassword: request.body.current_password,
          newPassword: request.body.new_password,
        });
        return reply.code(204).send(null);
      },
    );

    app.post(
      '/auth/password/forgot',
      {
        schema: {
          operationId: 'forgotPassword',
          tags,
          summary: 'Ask for a password reset link',
          description:
            'Mails a single-use reset link if an active account has this e-mail. Always answers 202 the same way, so it does not reveal which addresses have accounts.',
          body: forgotPasswordBody,
          response: { 202: acceptedResponse },
        },
      },
      async (request, reply) => {
        await auth.passwords.forgot(contextOf(request), request.body.email);
        return reply.code(202).send({ request_id: request.id, data: { accepted: true as const } });
      },
    );

    app.post(
      '/auth/password/reset',
      {
        schema: {
          operationId: 'resetPassword',
          tags,
          summary: 'Set a new password from a reset link',
          description:
            'Uses the token from the reset mail (once). Every session is signed out. It does not sign you in, so two-factor authentication still applies at the next sign-in.',
          body: resetPasswordBody,
          response: { 200: passwordResetResponse },
        },
      },
      async (request) => {
        await auth.passwords.reset(contextOf(request), {
          token: request.body.token,
          newPassword: request.body.new_password,
        });
        return { request_id: request.id, data: { password_reset: true as const } };
      },
    );

    app.post(
      '/auth/email/verify',
      {
        schema: {
          operationId: 'verifyEmail',
          tags,
          summary: 'Confirm your e-mail address',
          description: 'Uses the token from the verification mail (once).',
          body: verifyEmailBody,
          response: { 200: emailVerifiedResponse },
        },
      },
      async (request) => {
        await auth.verification.verify(contextOf(request), request.body.token);
        return { request_id: request.id, data: { email_verified: true as const } };
      },
    );

    app.post(
      '/auth/email/verification',
      {
        config: { permission: 'authenticated' },
        schema: {
          operationId: 'resendVerificationEmail',
          tags,
          summary: 'Send a new verification link',
          description:
            'Mails a new e-mail verification link (earlier links stop working). 409 when the address is already verified.',
          response: { 202: acceptedResponse, 409: conflict('The e-mail address is already verified.') },
        },
      },
      async (request, reply) => {
        await auth.verification.resend(contextOf(request));
        return reply.code(202).send({ request_id: request.id, data: { accepted: true as const } });
      },
    );
    done();
  };
}
