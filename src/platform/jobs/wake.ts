import type { Broadcast } from '../broadcast.js';
import type { Tx } from '../db/client.js';
import { onCommit } from '../db/commit-hooks.js';
import type { Logger } from '../observability/logger.js';

/** The broadcast (src/platform/broadcast.ts) that carries worker wake-ups. */
export const WAKE_CHANNEL = 'jobs:wake';

/**
 * Worker wake-ups. pg-boss workers find jobs by polling; a transaction that adds jobs due now
 * also says which queues got them, once it has committed, and every worker of those queues
 * fetches at once instead of at its next poll. Only a hint: a lost wake-up costs latency (the
 * poll still comes), never a job; a needless one costs an empty fetch.
 *
 * This class is both ends of wake-ups in one process. Queues woken by the commits of one
 * event-loop turn go out as one message; on the receiving end a worker that is already fetching
 * or running jobs fetches again once when it is done, however many wake-ups came meanwhile.
 */
export class Wakeups {
  private readonly pending = new Set<string>();
  private flushScheduled = false;
  private stopListening: (() => Promise<void>) | undefined;

  constructor(
    private readonly channel: Broadcast,
    private readonly logger: Logger,
  ) {}

  /** Wakes the workers of `queues` once `tx` has committed; never after a rollback. */
  afterCommit(tx: Tx, queues: readonly string[]): void {
    if (queues.length === 0) return;
    onCommit(tx, () => {
      for (const queue of queues) this.pending.add(queue);
      if (this.flushScheduled) return;
      this.flushScheduled = true;
      setImmediate(() => this.flush());
    });
  }

  private flush(): void {
    this.flushScheduled = false;
    const queues = [...this.pending];
    this.pending.clear();
    this.channel.send(queues).catch((error: unknown) => {
      this.logger.debug({ err: error }, 'worker wake-up not sent; the next poll finds the jobs');
    });
  }

  /** Calls `wake` with each queue named by a wake-up, from any process. */
  async listen(wake: (queue: string) => void): Promise<void> {
    try {
      this.stopListening = await this.channel.listen((queues) => queues.forEach(wake));
    } catch (error) {
      this.logger.warn({ err: error }, 'worker wake-ups unavailable; jobs are found by polling');
    }
  }

  async stop(): Promise<void> {
    await this.stopListening?.().catch(() => undefined);
    this.stopListening = undefined;
  }
}
