import type { Redis } from 'ioredis';
import { redisScript } from '../cache/redis.js';

/** A fixed-window counter after a change: the points counted in its window and the ms left of it. */
export interface WindowCount {
  consumed: number;
  msLeft: number;
}

// KEYS: the counters. ARGV: for each key, the change and the window in seconds. Per key, the steps
// of rate-limiter-flexible's own script (a new counter starts at 0 and expires with its window),
// so counters written by either are read alike.
const CHANGE_WINDOWS = `
local counts = {}
for i, key in ipairs(KEYS) do
  local window = ARGV[2 * i]
  redis.call('SET', key, 0, 'EX', window, 'NX')
  local consumed = redis.call('INCRBY', key, ARGV[2 * i - 1])
  local ttl = redis.call('PTTL', key)
  if ttl == -1 then
    redis.call('EXPIRE', key, window)
    ttl = 1000 * window
  end
  counts[i] = {consumed, ttl}
end
return counts`;

interface Change {
  points: number;
  resolve: (count: WindowCount) => void;
  reject: (error: unknown) => void;
}

interface Counter {
  windowSeconds: number;
  changes: Change[];
}

/**
 * Fixed-window counters in Redis, changed once per turn of the event loop. The changes asked for
 * during a turn (the rate-limit count of every request read in it) reach Redis as one script
 * call, which adds each counter's changes at once; each caller then learns the count its own
 * change brought the counter to, exactly as if it had been sent alone. Counting stays atomic and
 * shared by every process; what is saved is a script run, a command and a reply per request.
 */
export class RedisWindows {
  private turn = new Map<string, Counter>();
  private readonly changeWindows: (keys: string[], args: number[]) => Promise<[number, number][]>;

  constructor(private readonly redis: Redis) {
    this.changeWindows = redisScript(redis, 'bazaarChangeWindows', CHANGE_WINDOWS);
  }

  /** Adds `points` (negative to give some back) to `key`, whose window lasts `windowSeconds`. */
  change(key: string, points: number, windowSeconds: number): Promise<WindowCount> {
    // A client that is not connected would fail the call anyway; callers learn it at once.
    if (this.redis.status !== 'ready') return Promise.reject(new Error(`redis is ${this.redis.status}`));
    if (this.turn.size === 0) setImmediate(() => void this.send());
    let counter = this.turn.get(key);
    if (!counter) {
      counter = { windowSeconds, changes: [] };
      this.turn.set(key, counter);
    }
    const changes = counter.changes;
    return new Promise((resolve, reject) => changes.push({ points, resolve, reject }));
  }

  private async send(): Promise<void> {
    const counters = [...this.turn];
    this.turn = new Map();
    const keys = counters.map(([key]) => key);
    const args = counters.flatMap(([, counter]) => [sum(counter.changes), counter.windowSeconds]);
    let counts: [number, number][];
    try {
      counts = await this.changeWindows(keys, args);
    } catch (error) {
      for (const [, counter] of counters) for (const change of counter.changes) change.reject(error);
      return;
    }
    counters.forEach(([, counter], i) => {
      const [total, msLeft] = counts[i]!;
      // The turn's changes are counted in the order they were asked for.
      let consumed = total - sum(counter.changes);
      for (const change of counter.changes) {
        consumed += change.points;
        change.resolve({ consumed, msLeft });
      }
    });
  }
}

function sum(changes: Change[]): number {
  return changes.reduce((total, change) => total + change.points, 0);
}
