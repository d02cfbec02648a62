/**
 * Runs at most `max` of the tasks given to it at once; the others wait their turn, first come
 * first served. For CPU-bound work off the event loop (argon2), where running more at once than
 * there are cores only adds memory and holds libuv's pool away from everything else.
 */
export function concurrencyLimit(max: number): <T>(task: () => Promise<T>) => Promise<T> {
  if (!Number.isInteger(max) || max < 1) throw new RangeError(`max must be a positive integer, not ${max}`);
  let running = 0;
  const waiting: (() => void)[] = [];
  const release = () => {
    const next = waiting.shift();
    if (next) next();
    else running--;
  };
  return async (task) => {
    if (running < max) running++;
    // The slot of a finishing task passes straight to the next in line.
    else await new Promise<void>((resolve) => waiting.push(resolve));
    try {
      return await task();
    } finally {
      release();
    }
  };
}
