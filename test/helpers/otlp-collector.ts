import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface CollectedSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: number;
  attributes: Record<string, unknown>;
}

interface OtlpValue {
  stringValue?: string;
  intValue?: number | string;
  boolValue?: boolean;
  doubleValue?: number;
}

/**
 * An OpenTelemetry collector in miniature: a plain HTTP server that accepts the OTLP/HTTP JSON
 * export requests Bazaar's exporter POSTs to `/v1/traces` and keeps the spans.
 */
export class OtlpCollector {
  private constructor(
    private readonly server: Server,
    readonly url: string,
    readonly spans: CollectedSpan[],
  ) {}

  static async start(): Promise<OtlpCollector> {
    const spans: CollectedSpan[] = [];
    const server = createServer((req, res) => {
      let body = '';
      req.on('data', (chunk: Buffer) => (body += chunk.toString()));
      req.on('end', () => {
        if (req.method === 'POST' && req.url === '/v1/traces') receive(spans, body);
        res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    return new OtlpCollector(server, `http://127.0.0.1:${port}`, spans);
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

function receive(spans: CollectedSpan[], body: string): void {
  const request = JSON.parse(body) as {
    resourceSpans: { scopeSpans: { spans: Record<string, unknown>[] }[] }[];
  };
  for (const resource of request.resourceSpans)
    for (const scope of resource.scopeSpans)
      for (const span of scope.spans) {
        const attributes: Record<string, unknown> = {};
        for (const { key, value } of span.attributes as { key: string; value: OtlpValue }[])
          attributes[key] = value.stringValue ?? value.intValue ?? value.boolValue ?? value.doubleValue;
        spans.push({
          traceId: hexId(span.traceId as string),
          spanId: hexId(span.spanId as string),
          parentSpanId: span.parentSpanId ? hexId(span.parentSpanId as string) : undefined,
          name: span.name as string,
          kind: span.kind as number,
          attributes,
        });
      }
}

/** OTLP/JSON ids are hex; some exporters send base64 — normalise to hex. */
function hexId(id: string): string {
  return /^[0-9a-f]+$/.test(id) && (id.length === 32 || id.length === 16)
    ? id
    : Buffer.from(id, 'base64').toString('hex');
}
