import type { FastifyPluginCallbackZod } from 'fastify-type-provider-zod';
import { errorEnvelope } from '../../platform/http/envelope.js';
import { contextOf } from '../../platform/http/server.js';
import {
  noContent,
  passwordOnlyBody,
  recoveryCodesResponse,
  totpConfirmBody,
  totpDisableBody,
  totpEnrollmentResponse,
} from './http-schemas.js';
import type { AuthServices } from './module.js';

const tags = ['auth'];

/** TOTP two-factor authentication of the signed-in user. */
export function mfaRoutes(auth: AuthServices): FastifyPluginCallbackZod {
  return (app, _options, done) => {
    app.post(
      '/auth/mfa/totp/enroll',
      {
        config: { permission: 'authenticated' },
        schema: {
          operationId: 'enrollTotp',
          tags,
          summary: 'Start TOTP enrolment',
          description:
            'Creates a new TOTP secret (base32 and an otpauth:// URI for a QR code). It becomes active once confirmed with a code; enrolling again replaces a pending secret. 409 when TOTP is already on.',
          response: {
            200: totpEnrollmentResponse,
            409: errorEnvelope.describe('Two-factor authentication is already enabled.'),
          },
        },
      },
      async (request) => {
        const { secret, otpauthUri } = await auth.mfa.enroll(contextOf(request));
        return { request_id: request.id, data: { secret, otpauth_uri: otpauthUri } };
      },
    );

    app.post(
      '/auth/mfa/totp/confirm',
      {
        config: { permission: 'authenticated' },
        schema: {
          operationId: 'confirmTotp',
          tags,
          summary: 'Confirm TOTP enrolment',
          description:
            'The first code from the app switches two-factor authentication on and returns 10 single-use recovery codes, shown only this once.',
          body: totpConfirmBody,
          response: { 200: recoveryCodesResponse, 409: errorEnvelope.describe('No pending enrolment.') },
        },
      },
      async (request) => ({
        request_id: request.id,
        data: { recovery_codes: await auth.mfa.confirm(contextOf(request), request.body.code) },
      }),
    );

    app.post(
      '/auth/mfa/totp/disable',
      {
        config: { permission: 'authenticated' },
        schema: {
          operationId: 'disableTotp',
          tags,
          summary: 'Switch TOTP off',
          description:
            'Needs the password; a code, when given, must be valid too. Recovery codes are deleted. Answers 204.',
          body: totpDisableBody,
          response: {
            204: noContent,
            409: errorEnvelope.describe('Two-factor authentication is not enabled.'),
          },
        },
      },
      async (request, reply) => {
        await auth.mfa.disable(contextOf(request), {
          password: request.body.password,
          code: request.body.code,
        });
        return reply.code(204).send(null);
      },
    );

    app.post(
      '/auth/mfa/recovery-codes',
      {
        config: { permission: 'authenticated' },
        schema: {
          operationId: 'regenerateRecoveryCodes',
          tags,
          summary: 'New recovery codes',
          description:
            'Needs the password. Replaces all recovery codes with 10 new ones, shown only this once.',
          body: passwordOnlyBody,
          response: {
            200: recoveryCodesResponse,
            409: errorEnvelope.describe('Two-factor authentication is not enabled.'),
          },
        },
      },
      async (request) => ({
        request_id: request.id,
        data: {
          recovery_codes: await auth.mfa.regenerateRecoveryCodes(contextOf(request), request.body.password),
        },
      }),
    );
    done();
  };
}
