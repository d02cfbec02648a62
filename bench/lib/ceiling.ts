import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnNode, waitUntilReady, type Spawned } from './processes.js';

export interface Sample {
  status: number;
  contentType: string;
  body: Buffer;
}

/** One response of Bazaar to a request, as bytes: what the ceiling server will replay. */
export async function sampleResponse(
  url: string,
  init: { method: string; headers?: Record<string, string>; body?: string },
): Promise<Sample> {
  const response = await fetch(url, init);
  const body = Buffer.from(await response.arrayBuffer());
  if (response.status >= 400)
    throw new Error(`${init.method} ${url} answered ${response.status}: ${body.toString().slice(0, 500)}`);
  return {
    status: response.status,
    contentType: response.headers.get('content-type') ?? 'application/octet-stream',
    body,
  };
}

export interface CeilingServer {
  url: string;
  pid: number;
  stop: () => Promise<void>;
}

/** Starts the bare Fastify ceiling server (bench/ceiling-server.ts) replaying `sample`. */
export async function startCeiling(sample: Sample, port: number): Promise<CeilingServer> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'bazaar-ceiling-'));
  const bodyFile = path.join(dir, 'body');
  writeFileSync(bodyFile, sample.body);
  const proc: Spawned = spawnNode(['--import', 'tsx', path.join('bench', 'ceiling-server.ts')], {
    PORT: String(port),
    CEILING_BODY_FILE: bodyFile,
    CEILING_STATUS: String(sample.status),
    CEILING_CONTENT_TYPE: sample.contentType,
  });
  const url = `http://127.0.0.1:${port}`;
  await waitUntilReady(`${url}/__ready`, proc, 30_000);
  return {
    url,
    pid: proc.pid,
    async stop() {
      await proc.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
