import {
  context,
  propagation,
  trace,
  SpanKind,
  SpanStatusCode,
  type Attributes,
  type Context as OtelContext,
  type Span,
} from '@opentelemetry/api';

/**
 * OpenTelemetry tracing. With `OTEL_EXPORTER_OTLP_ENDPOINT` unset nothing of the SDK is loaded
 * and every helper here returns before creating a span, so tracing costs nothing.
 */

let enabled = false;

export const tracer = () => trace.getTracer('bazaar');

export function tracingEnabled(): boolean {
  return enabled;
}

export interface TracingOptions {
  /** OTLP/HTTP base URL, e.g. `http://collector:4318`; spans go to `<endpoint>/v1/traces`. */
  endpoint: string;
  serviceName: string;
  serviceVersion: string;
}

export interface Tracing {
  /** Exports spans still buffered, then stops. */
  shutdown(): Promise<void>;
  /** Exports spans still buffered (tests, and before a worker exits). */
  flush(): Promise<void>;
}

/** Registers the global tracer provider (one per process), exporting over OTLP/HTTP in batches. */
export async function startTracing(options: TracingOptions): Promise<Tracing> {
  const [{ NodeTracerProvider }, { BatchSpanProcessor }, { OTLPTraceExporter }, { resourceFromAttributes }] =
    await Promise.all([
      import('@opentelemetry/sdk-trace-node'),
      import('@opentelemetry/sdk-trace-base'),
      import('@opentelemetry/exporter-trace-otlp-http'),
      import('@opentelemetry/resources'),
    ]);
  const exporter = new OTLPTraceExporter({ url: `${options.endpoint.replace(/\/+$/, '')}/v1/traces` });
  const provider = new NodeTracerProvider({
    resource: resourceFromAttributes({
      'service.name': options.serviceName,
      'service.version': options.serviceVersion,
    }),
    spanProcessors: [new BatchSpanProcessor(exporter, { scheduledDelayMillis: 1000 })],
  });
  // Also installs the AsyncLocalStorage context manager and the W3C trace-context propagator.
  provider.register();
  enabled = true;
  return {
    flush: () => provider.forceFlush(),
    async shutdown() {
      enabled = false;
      await provider.shutdown();
      trace.disable();
      context.disable();
      propagation.disable();
    },
  };
}

/** The current trace id, for log lines and error answers; undefined outside a sampled span. */
export function currentTraceId(ctx: OtelContext = context.active()): string | undefined {
  const spanContext = trace.getSpan(ctx)?.spanContext();
  return spanContext && spanContext.traceId !== '00000000000000000000000000000000'
    ? spanContext.traceId
    : undefined;
}

/** Runs `work` in a child span of the active one, ending it (with the error, if any) when work settles. */
export async function inSpan<T>(
  name: string,
  attributes: Attributes,
  work: (span: Span | undefined) => Promise<T>,
  kind: SpanKind = SpanKind.INTERNAL,
): Promise<T> {
  if (!enabled) return work(undefined);
  return tracer().startActiveSpan(name, { kind, attributes }, async (span) => {
    try {
      return await work(span);
    } catch (error) {
      recordError(span, error);
      throw error;
    } finally {
      span.end();
    }
  });
}

export function recordError(span: Span, error: unknown): void {
  span.recordException(error instanceof Error ? error : String(error));
  span.setStatus({ code: SpanStatusCode.ERROR, message: error instanceof Error ? error.message : undefined });
}

/** W3C trace context of the active span, to carry across a queue; undefined when not tracing. */
export function injectTraceContext(): Record<string, string> | undefined {
  if (!enabled) return undefined;
  const carrier: Record<string, string> = {};
  propagation.inject(context.active(), carrier);
  return carrier.traceparent ? carrier : undefined;
}

/** The context a carrier from `injectTraceContext` continues. */
export function extractTraceContext(carrier: Record<string, string> | undefined): OtelContext {
  return carrier ? propagation.extract(context.active(), carrier) : context.active();
}
