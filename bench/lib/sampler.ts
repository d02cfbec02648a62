import { readdirSync, readFileSync } from 'node:fs';

/** Linux clock ticks per second (`getconf CLK_TCK`), 100 on every mainstream kernel. */
const TICKS_PER_SECOND = 100;

function cpuTicks(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the parenthesised command name; utime and stime are the 14th and 15th fields.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(fields[11]) + Number(fields[12]);
}

function rssMb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
  return kb / 1024;
}

/** CPU ticks of every running process named `name` (e.g. all of PostgreSQL's backends). */
function ticksByName(name: string): Map<number, number> {
  const ticks = new Map<number, number>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/comm`, 'utf8').trim() === name)
        ticks.set(Number(entry), cpuTicks(Number(entry)));
    } catch {
      // exited meanwhile
    }
  }
  return ticks;
}

/** Ticks spent since `before` by the processes named in it or now running under the same name. */
function ticksSince(before: Map<number, number>, name: string): number {
  let spent = 0;
  for (const [pid, ticks] of ticksByName(name)) spent += ticks - (before.get(pid) ?? 0);
  return spent;
}

/** Busy ticks of the whole machine, every core (all of /proc/stat's `cpu` line but idle and iowait). */
function machineBusyTicks(): number {
  const fields = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  const total = fields.reduce((a, b) => a + b, 0);
  return total - fields[3]! - fields[4]!;
}

function ticksOrZero(pid: number | undefined): number {
  if (pid === undefined) return 0;
  try {
    return cpuTicks(pid);
  } catch {
    return 0;
  }
}

/**
 * Where the machine's CPU went while a load ran, in % of one core (a 2-core machine has 200):
 * Bazaar's server and worker, PostgreSQL (all its processes), Redis, the load generator (this
 * process), and the machine as a whole (the rest: the ceiling server when it runs, the kernel's
 * network work, other programs).
 */
export interface MachineCpu {
  server: number;
  worker?: number;
  postgres: number;
  redis: number;
  load_generator: number;
  machine: number;
}

export interface ProcessUsage {
  /** Average CPU over the sampled span, in % of one core (200 % = both cores of a 2-core machine). */
  cpu_pct_avg: number;
  rss_mb_max: number;
  rss_mb_avg: number;
  cpu_split: MachineCpu;
}

/**
 * Samples a process's CPU time and resident memory from /proc while a load runs, and the CPU of
 * the other processes that share the machine.
 */
export function sampleProcess(pid: number, options: { workerPid?: number; intervalMs?: number } = {}) {
  const intervalMs = options.intervalMs ?? 250;
  const startTicks = cpuTicks(pid);
  const startWorker = ticksOrZero(options.workerPid);
  const startPostgres = ticksByName('postgres');
  const startRedis = ticksByName('redis-server');
  const startMachine = machineBusyTicks();
  const startSelf = process.cpuUsage();
  const startedAt = performance.now();
  const rss: number[] = [rssMb(pid)];
  const timer = setInterval(() => {
    try {
      rss.push(rssMb(pid));
    } catch {
      // the process went away; the stop() below reports what was seen
    }
  }, intervalMs);
  return {
    stop(): ProcessUsage {
      clearInterval(timer);
      let ticks = startTicks;
      try {
        ticks = cpuTicks(pid);
        rss.push(rssMb(pid));
      } catch {
        // gone
      }
      const seconds = (performance.now() - startedAt) / 1000;
      const pct = (spentTicks: number) => round1((spentTicks / TICKS_PER_SECOND / seconds) * 100);
      const self = process.cpuUsage(startSelf);
      return {
        cpu_pct_avg: pct(ticks - startTicks),
        rss_mb_max: round1(Math.max(...rss)),
        rss_mb_avg: round1(rss.reduce((a, b) => a + b, 0) / rss.length),
        cpu_split: {
          server: pct(ticks - startTicks),
          ...(options.workerPid === undefined
            ? {}
            : { worker: pct(ticksOrZero(options.workerPid) - startWorker) }),
          postgres: pct(ticksSince(startPostgres, 'postgres')),
          redis: pct(ticksSince(startRedis, 'redis-server')),
          load_generator: round1(((self.user + self.system) / 1e6 / seconds) * 100),
          machine: pct(machineBusyTicks() - startMachine),
        },
      };
    },
  };
}

export const round1 = (n: number) => Math.round(n * 10) / 10;
