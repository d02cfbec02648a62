import { readFileSync } from 'node:fs';

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

export interface ProcessUsage {
  /** Average CPU over the sampled span, in % of one core (200 % = both cores of a 2-core machine). */
  cpu_pct_avg: number;
  rss_mb_max: number;
  rss_mb_avg: number;
}

/** Samples a process's CPU time and resident memory from /proc while a load runs. */
export function sampleProcess(pid: number, intervalMs = 250) {
  const startTicks = cpuTicks(pid);
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
      return {
        cpu_pct_avg: round1(((ticks - startTicks) / TICKS_PER_SECOND / seconds) * 100),
        rss_mb_max: round1(Math.max(...rss)),
        rss_mb_avg: round1(rss.reduce((a, b) => a + b, 0) / rss.length),
      };
    },
  };
}

export const round1 = (n: number) => Math.round(n * 10) / 10;
