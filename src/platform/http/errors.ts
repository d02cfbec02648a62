import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { hasZodFastifySchemaValidationErrors, isResponseSerializationError } from 'fastify-type-provider-zod';
import { AppError, type ErrorCode, type FieldError } from '../errors.js';
import { requestTraceId } from './request-tracing.js';

/** The only place that turns error codes into HTTP statuses. */
export const statusOf: Record<ErrorCode, number> = {
  VALIDATION_ERROR: 400,
  AUTH_FAILED: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  CONFLICT: 409,
  OUT_OF_STOCK: 409,
  IDEMPOTENCY_KEY_IN_USE: 409,
  IDEMPOTENCY_KEY_MISMATCH: 422,
  PAYLOAD_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  RATE_LIMIT: 429,
  SERVICE_UNAVAILABLE: 503,
  INTERNAL_ERROR: 500,
};

const codeOfStatus: Record<number, ErrorCode> = {
  400: 'VALIDATION_ERROR',
  401: 'AUTH_FAILED',
  403: 'FORBIDDEN',
  404: 'NOT_FOUND',
  405: 'NOT_FOUND',
  406: 'VALIDATION_ERROR',
  409: 'CONFLICT',
  413: 'PAYLOAD_TOO_LARGE',
  414: 'VALIDATION_ERROR',
  415: 'UNSUPPORTED_MEDIA_TYPE',
  429: 'RATE_LIMIT',
  431: 'VALIDATION_ERROR',
  503: 'SERVICE_UNAVAILABLE',
};

/** Maps anything thrown in a request to `{ status, code, message, details }` — never a stack. */
export function toErrorBody(error: unknown): { status: number; error: AppError } {
  if (error instanceof AppError) return { status: statusOf[error.code], error };

  if (hasZodFastifySchemaValidationErrors(error)) {
    const issues = error.validation as { instancePath: string; params: unknown; message?: string }[];
    const details: FieldError[] = issues.map((issue) => ({
      field: fieldName(error.validationContext, issue.instancePath, issue.params),
      message: issue.message ?? 'is invalid',
    }));
    return { status: 400, error: new AppError('VALIDATION_ERROR', 'The request is invalid.', details) };
  }

  if (isResponseSerializationError(error)) {
    return { status: 500, error: new AppError('INTERNAL_ERROR', 'An unexpected error occurred.') };
  }

  const fastifyError = error as Partial<FastifyError>;
  const status = fastifyError.statusCode;
  if (status && status >= 400 && status < 500) {
    const code = codeOfStatus[status] ?? 'VALIDATION_ERROR';
    return {
      status: statusOf[code] === status ? status : statusOf[code],
      error: new AppError(code, clientMessage(fastifyError)),
    };
  }
  if (status === 503)
    return { status, error: new AppError('SERVICE_UNAVAILABLE', 'The service is temporarily unavailable.') };
  return { status: 500, error: new AppError('INTERNAL_ERROR', 'An unexpected error occurred.') };
}

function fieldName(context: string | undefined, instancePath: string, params: unknown): string {
  const path = instancePath.replace(/^\//, '').replaceAll('/', '.');
  const keys = (params as { keys?: string[] } | undefined)?.keys;
  const base = keys?.length ? [path, keys.join(',')].filter(Boolean).join('.') : path;
  return context && context !== 'body' ? `${context}${base ? `.${base}` : ''}` : base || (context ?? 'body');
}

/** Framework messages that are safe to show; anything else gets a generic sentence. */
function clientMessage(error: Partial<FastifyError>): string {
  switch (error.code) {
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return 'Unsupported Content-Type; send application/json.';
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return 'The request body is too large.';
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return 'The request body is empty but Content-Type is application/json.';
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return 'The request body is not valid JSON.';
    default:
      if (error instanceof SyntaxError) return 'The request body is not valid JSON.';
      return error.statusCode === 404 ? 'Not found.' : 'The request is invalid.';
  }
}

export function sendError(request: FastifyRequest, reply: FastifyReply, status: number, error: AppError) {
  if (error.retryAfter !== undefined)
    void reply.header('Retry-After', String(Math.max(1, Math.ceil(error.retryAfter))));
  return reply
    .code(status)
    .type('application/json; charset=utf-8')
    .send({
      request_id: request.id,
      ...traceIdOf(request),
      error: {
        code: error.code,
        message: error.message,
        ...(error.details ? { details: error.details } : {}),
      },
    });
}

/** With tracing on, errors name their trace, so a client's report leads straight to it. */
function traceIdOf(request: FastifyRequest): { trace_id?: string } {
  const traceId = requestTraceId(request);
  return traceId ? { trace_id: traceId } : {};
}
