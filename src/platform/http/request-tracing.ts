import {
  context,
  propagation,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  trace,
  type Span,
} from '@opentelemetry/api';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { tracer, tracingEnabled } from '../observability/tracing.js';

/**
 * One server span per HTTP request, continuing the caller's `traceparent` when it sends one.
 * The route's preHandlers, handler and onSend hooks run inside it (see `inRequestSpan`), so
 * database, cache and job spans of the request become its children.
 */
const spans = new WeakMap<FastifyRequest, Span>();

export function startRequestSpan(request: FastifyRequest): void {
  if (!tracingEnabled()) return;
  const parent = propagation.extract(ROOT_CONTEXT, request.headers);
  const span = tracer().startSpan(
    request.method,
    {
      kind: SpanKind.SERVER,
      attributes: {
        'http.request.method': request.method,
        'url.path': request.url.split('?')[0],
        'bazaar.request_id': request.id,
      },
    },
    parent,
  );
  spans.set(request, span);
}

/** The request's trace id (error answers and log lines carry it); undefined when not tracing. */
export function requestTraceId(request: FastifyRequest): string | undefined {
  return spans.get(request)?.spanContext().traceId;
}

export function recordRequestError(request: FastifyRequest, error: unknown): void {
  spans.get(request)?.recordException(error instanceof Error ? error : String(error));
}

export function endRequestSpan(request: FastifyRequest, reply: FastifyReply, route: string): void {
  const span = spans.get(request);
  if (!span) return;
  spans.delete(request);
  span.updateName(`${request.method} ${route}`);
  span.setAttributes({ 'http.route': route, 'http.response.status_code': reply.statusCode });
  if (reply.statusCode >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
  span.end();
}

type RouteFunction = (this: unknown, request: FastifyRequest, ...rest: unknown[]) => unknown;

/** Wraps a route hook or handler so it runs with the request's span active. */
export function inRequestSpan<F>(fn: F): F {
  const run = fn as RouteFunction;
  return function (this: unknown, request: FastifyRequest, ...rest: unknown[]) {
    const span = spans.get(request);
    if (!span) return run.call(this, request, ...rest);
    return context.with(trace.setSpan(context.active(), span), () => run.call(this, request, ...rest));
  } as F;
}
