import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import net from 'node:net';
import path from 'node:path';
import { repoRoot } from './settings.js';

export interface Spawned {
  pid: number;
  child: ChildProcess;
  /** Everything the process wrote, for error messages and for startup timings. */
  output: () => string;
  stop: () => Promise<void>;
}

/** Starts `node <args>` in the repository root with `env` on top of a minimal environment. */
export function spawnNode(args: string[], env: Record<string, string | undefined>): Spawned {
  const child = spawn(process.execPath, args, {
    cwd: repoRoot,
    env: {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      NODE_OPTIONS: process.env.BENCH_NODE_OPTIONS,
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const keep = (chunk: Buffer) => {
    output += chunk.toString();
    if (output.length > 200_000) output = output.slice(-100_000);
  };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  const exited = once(child, 'exit');
  return {
    pid: child.pid!,
    child,
    output: () => output,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

export const bazaarMain = path.join('dist', 'src', 'main.js');

/** Runs a Bazaar CLI command to completion (migrate, seed); throws with its output on failure. */
export async function runBazaarCommand(command: string, env: Record<string, string | undefined>) {
  const proc = spawnNode([bazaarMain, command], env);
  const [code] = (await once(proc.child, 'exit')) as [number | null];
  if (code !== 0) throw new Error(`bazaar ${command} exited with ${code}:\n${proc.output()}`);
  return proc.output();
}

/** Polls `url` until it answers 200; throws with the process output if it exits or times out. */
export async function waitUntilReady(url: string, proc: Spawned, timeoutMs = 60_000): Promise<number> {
  const started = performance.now();
  for (;;) {
    if (proc.child.exitCode !== null) throw new Error(`process exited before ready:\n${proc.output()}`);
    try {
      const response = await fetch(url);
      if (response.status === 200) return performance.now() - started;
      await response.arrayBuffer();
    } catch {
      // not listening yet
    }
    if (performance.now() - started > timeoutMs)
      throw new Error(`${url} not ready after ${timeoutMs} ms:\n${proc.output()}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** A TCP port the OS reports free right now (asked for port 0, then released). */
export async function freePort(): Promise<number> {
  const server = net.createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as net.AddressInfo;
  server.close();
  await once(server, 'close');
  return port;
}
