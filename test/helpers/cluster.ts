/**
 * Real processes on loopback for the deployment tests: Bazaar servers and workers, nginx as the
 * load balancer, PgBouncer, and PostgreSQL instances of the tests' own (primary + standby).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { accessSync, chownSync, constants, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort, waitFor } from './app.js';

export const inCi = process.env.CI === 'true';
const isRoot = process.getuid?.() === 0;
const pgBin = '/usr/lib/postgresql/15/bin';

/** The absolute path of a program on PATH, in /usr/sbin, or among PostgreSQL 15's binaries. */
export function findBinary(name: string): string | undefined {
  const dirs = [...(process.env.PATH ?? '').split(':'), '/usr/sbin', '/sbin', pgBin];
  for (const dir of dirs.filter(Boolean)) {
    const file = path.join(dir, name);
    try {
      accessSync(file, constants.X_OK);
      return file;
    } catch {
      // not here
    }
  }
  return undefined;
}

/**
 * Whether a test needing these programs should be skipped: only outside CI. In CI a missing
 * program is a failure (the test runs and says which one is missing), never a silent skip.
 */
export function skipWithout(...names: string[]): boolean {
  return !inCi && names.some((name) => findBinary(name) === undefined);
}

export function requireBinary(name: string): string {
  const file = findBinary(name);
  if (!file) throw new Error(`${name} is not installed (apt-get install it; .ci/run does)`);
  return file;
}

export { freePort };

/** A temporary directory the `postgres` OS user owns when we are root (PostgreSQL refuses root). */
export function serviceDir(prefix: string): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), prefix));
  if (isRoot) chownToPostgres(dir);
  return dir;
}

function chownToPostgres(file: string) {
  const uid = Number(spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).stdout.trim());
  const gid = Number(spawnSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).stdout.trim());
  chownSync(file, uid, gid);
}

/** `command args` as the postgres OS user when we are root, else as ourselves. */
function asServiceUser(command: string, args: string[]): [string, string[]] {
  return isRoot ? ['runuser', ['-u', 'postgres', '--', command, ...args]] : [command, args];
}

export interface Proc {
  child: ChildProcess;
  /** stdout + stderr so far (the last 200 kB). */
  output(): string;
  exited: Promise<number | null>;
  /** Sends a signal to the process group: nothing it started survives a SIGKILL. */
  signal(signal: NodeJS.Signals): void;
  alive(): boolean;
}

export function startProcess(command: string, args: string[], env: NodeJS.ProcessEnv = process.env): Proc {
  const child = spawn(command, args, { env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const append = (chunk: Buffer) => {
    output += chunk.toString();
    if (output.length > 200_000) output = output.slice(-100_000);
  };
  child.stdout?.on('data', append);
  child.stderr?.on('data', append);
  let running = true;
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code, signal) => {
      running = false;
      resolve(code ?? (signal ? -1 : null));
    }),
  );
  return {
    child,
    output: () => output,
    exited,
    alive: () => running,
    signal(signal) {
      if (!running) return;
      try {
        process.kill(-child.pid!, signal);
      } catch {
        // already gone
      }
    },
  };
}

/** Runs a program to completion; throws with its output when it fails. */
export async function run(command: string, args: string[], env: NodeJS.ProcessEnv = process.env) {
  const proc = startProcess(command, args, env);
  const code = await proc.exited;
  if (code !== 0) throw new Error(`${command} ${args.join(' ')} exited ${code}:\n${proc.output()}`);
  return proc.output();
}

/** `bazaar <role>` as its own process, tsx loaded in-process (a SIGKILL reaches the program itself). */
export function startBazaar(role: 'serve' | 'worker' | 'migrate', env: NodeJS.ProcessEnv): Proc {
  return startProcess(process.execPath, ['--import', 'tsx', 'src/main.ts', role], env);
}

export async function waitForStatus(url: string, status = 200, timeoutMs = 90_000): Promise<void> {
  await waitFor(
    async () => {
      try {
        const response = await fetch(url);
        await response.arrayBuffer();
        return response.status === status ? true : undefined;
      } catch {
        return undefined;
      }
    },
    timeoutMs,
    `${url} to answer ${status}`,
  );
}

// ---------------------------------------------------------------------------------------------
// nginx

export interface Nginx {
  url: string;
  /** Takes a server out of (or back into) the upstream and reloads nginx gracefully. */
  setDown(port: number, down: boolean): Promise<void>;
  stop(): Promise<void>;
  proc: Proc;
}

/**
 * nginx balancing round-robin over `upstreamPorts`. A request that could not reach a server
 * (refused, reset before an answer) goes to the next one; non-idempotent requests only when
 * nginx never sent them (that is nginx' rule), so a client retries POSTs with an Idempotency-Key.
 */
export async function startNginx(upstreamPorts: number[]): Promise<Nginx> {
  const nginx = requireBinary('nginx');
  const dir = mkdtempSync(path.join(os.tmpdir(), 'bazaar-nginx-'));
  const port = await freePort();
  const down = new Set<number>();
  const write = () =>
    writeFileSync(
      path.join(dir, 'nginx.conf'),
      nginxConfig(
        dir,
        port,
        upstreamPorts.map((p) => `127.0.0.1:${p}${down.has(p) ? ' down' : ''}`),
      ),
    );
  write();
  for (const sub of ['body', 'proxy', 'fastcgi', 'uwsgi', 'scgi']) mkdirSync(path.join(dir, sub));
  const args = ['-p', dir, '-c', path.join(dir, 'nginx.conf'), '-e', path.join(dir, 'error.log')];
  const proc = startProcess(nginx, args);
  const url = `http://127.0.0.1:${port}`;
  await waitFor(
    async () => {
      if (!proc.alive()) throw new Error(`nginx exited:\n${proc.output()}`);
      try {
        await fetch(`${url}/nginx-health`);
        return true;
      } catch {
        return undefined;
      }
    },
    20_000,
    'nginx',
  );
  return {
    url,
    proc,
    async setDown(upstream, isDown) {
      if (isDown) down.add(upstream);
      else down.delete(upstream);
      write();
      await run(nginx, [...args, '-s', 'reload']);
      // The reload is done when the workers started from the new configuration answer.
      await waitFor(
        async () => {
          const response = await fetch(`${url}/nginx-health`);
          return (await response.text()).trim() === String(down.size) ? true : undefined;
        },
        20_000,
        'nginx to reload',
      );
    },
    async stop() {
      proc.signal('SIGTERM');
      await proc.exited;
    },
  };
}

function nginxConfig(dir: string, port: number, servers: string[]): string {
  return `
worker_processes 1;
daemon off;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path ${dir}/body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  upstream bazaar {
${servers.map((s) => `    server ${s} max_fails=1 fail_timeout=2s;`).join('\n')}
  }
  # One request per client connection: a reload (taking a server out) closes idle keep-alive
  # connections, and a client racing that close would see an error no server caused.
  keepalive_timeout 0;
  server {
    listen 127.0.0.1:${port};
    location = /nginx-health { return 200 "${servers.filter((s) => s.endsWith(' down')).length}\\n"; }
    location / {
      proxy_pass http://bazaar;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host $host;
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
      proxy_set_header X-Forwarded-Proto $scheme;
      proxy_connect_timeout 2s;
      proxy_read_timeout 30s;
      # Buffer in memory only: the temporary directory belongs to the test, not nginx' worker user.
      proxy_max_temp_file_size 0;
      proxy_next_upstream error timeout http_502 http_503 http_504;
      proxy_next_upstream_tries 3;
    }
  }
}
`;
}

// ---------------------------------------------------------------------------------------------
// PgBouncer

export interface PgBouncer {
  port: number;
  /** A connection URL through the bouncer to `database` on the target server. */
  url(database: string): string;
  stop(): Promise<void>;
  proc: Proc;
}

/** PgBouncer in transaction pooling mode in front of the PostgreSQL at `target` (host:port). */
export async function startPgBouncer(target: {
  host: string;
  port: number;
  user: string;
}): Promise<PgBouncer> {
  const pgbouncer = requireBinary('pgbouncer');
  const dir = serviceDir('bazaar-pgbouncer-');
  const port = await freePort();
  const ini = path.join(dir, 'pgbouncer.ini');
  writeFileSync(
    ini,
    `[databases]
* = host=${target.host} port=${target.port}

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = ${port}
unix_socket_dir =
auth_type = trust
auth_file = ${dir}/userlist.txt
pool_mode = transaction
max_client_conn = 1000
default_pool_size = 20
ignore_startup_parameters = extra_float_digits,options
logfile = ${dir}/pgbouncer.log
pidfile = ${dir}/pgbouncer.pid
`,
  );
  writeFileSync(path.join(dir, 'userlist.txt'), `"${target.user}" ""\n`);
  if (isRoot) for (const file of ['pgbouncer.ini', 'userlist.txt']) chownToPostgres(path.join(dir, file));
  const proc = startProcess(...asServiceUser(pgbouncer, [ini]));
  const bouncer: PgBouncer = {
    port,
    proc,
    url: (database) => `postgres://${target.user}@127.0.0.1:${port}/${database}`,
    async stop() {
      proc.signal('SIGTERM');
      await proc.exited;
    },
  };
  await waitForTcp(port, proc, 'PgBouncer');
  return bouncer;
}

async function waitForTcp(port: number, proc: Proc, what: string) {
  const { connect } = await import('node:net');
  await waitFor(
    () =>
      new Promise<true | undefined>((resolve, reject) => {
        if (!proc.alive()) reject(new Error(`${what} exited:\n${proc.output()}`));
        const socket = connect(port, '127.0.0.1');
        socket.once('connect', () => {
          socket.destroy();
          resolve(true);
        });
        socket.once('error', () => resolve(undefined));
      }),
    20_000,
    what,
  );
}

// ---------------------------------------------------------------------------------------------
// PostgreSQL instances of a test's own

export interface PostgresInstance {
  port: number;
  dataDir: string;
  url(database?: string): string;
  stop(): Promise<void>;
}

function pgCtl(dataDir: string, action: string[]) {
  return run(...asServiceUser(path.join(pgBin, 'pg_ctl'), ['-D', dataDir, '-w', '-t', '60', ...action]));
}

function instance(dataDir: string, port: number): PostgresInstance {
  return {
    port,
    dataDir,
    url: (database = 'postgres') => `postgres://postgres@127.0.0.1:${port}/${database}`,
    stop: () => pgCtl(dataDir, ['-m', 'immediate', 'stop']).then(() => undefined),
  };
}

/** A new primary: initdb, trust on loopback, replication allowed, started on a free port. */
export async function startPrimary(): Promise<PostgresInstance> {
  const root = serviceDir('bazaar-pg-primary-');
  const dataDir = path.join(root, 'data');
  await run(
    ...asServiceUser(path.join(pgBin, 'initdb'), [
      '-D',
      dataDir,
      '-U',
      'postgres',
      '--auth=trust',
      '--no-sync',
      '-E',
      'UTF8',
    ]),
  );
  const port = await freePort();
  await pgCtl(dataDir, [
    '-l',
    path.join(root, 'log'),
    '-o',
    `-p ${port} -c listen_addresses=127.0.0.1 -c unix_socket_directories=${root} -c wal_level=replica -c max_wal_senders=5 -c fsync=off`,
    'start',
  ]);
  return instance(dataDir, port);
}

/** A streaming standby of `primary`: pg_basebackup -R, then started on its own port. */
export async function startStandby(primary: PostgresInstance): Promise<PostgresInstance> {
  const root = serviceDir('bazaar-pg-standby-');
  const dataDir = path.join(root, 'data');
  await run(
    ...asServiceUser(path.join(pgBin, 'pg_basebackup'), [
      '-h',
      '127.0.0.1',
      '-p',
      String(primary.port),
      '-U',
      'postgres',
      '-D',
      dataDir,
      '-R',
      '-X',
      'stream',
      // An immediate checkpoint on the primary, not a spread one that takes minutes.
      '--checkpoint=fast',
      '--no-sync',
    ]),
  );
  const port = await freePort();
  await pgCtl(dataDir, [
    '-l',
    path.join(root, 'log'),
    '-o',
    `-p ${port} -c listen_addresses=127.0.0.1 -c unix_socket_directories=${root} -c hot_standby=on -c fsync=off`,
    'start',
  ]);
  return instance(dataDir, port);
}
