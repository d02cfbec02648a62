import { sql } from 'drizzle-orm';
import type { Redis } from 'ioredis';
import type { DatabaseHandle } from './db/client.js';

/**
 * Short messages to every Bazaar process of a deployment: lists of names or ids (queues that got
 * jobs, variants whose stock changed). Best effort, at most once: a message sent while a process
 * is not listening never reaches it, so what a message says must also come out some other way
 * (a poll, a TTL). `onListening(false)` tells a listener that it may miss messages from now on,
 * `onListening(true)` that it hears every message sent from then on.
 */
export interface Broadcast {
  /** Sends `items` to every listening process (this one too). */
  send(items: string[]): Promise<void>;
  /** Calls `onMessage` for every message; resolves once listening, to a function that stops. */
  listen(
    onMessage: (items: string[]) => void,
    onListening?: (listening: boolean) => void,
  ): Promise<() => Promise<void>>;
}

/**
 * One process' hearing of a broadcast of changes, for those that keep per-process copies the
 * messages drop (storefront stock, cache entries): it listens once, from the first `start`, and
 * knows whether every message is heard now. Messages go to `onMessage`; `onGap` is called
 * whenever the process may have missed some or starts hearing all again (and at `stop`), the
 * moment to forget every copy. A broadcast that cannot be listened to goes to `onUnavailable`,
 * and the process never counts as hearing.
 */
export class BroadcastListener {
  /** True while every message sent is heard: copies may be kept only then. */
  hearing = false;
  private listening: Promise<(() => Promise<void>) | undefined> | undefined;

  constructor(
    private readonly broadcast: Broadcast,
    private readonly handlers: {
      onMessage: (items: string[]) => void;
      onGap: () => void;
      onUnavailable: (error: unknown) => void;
    },
  ) {}

  /** Starts listening, once; cheap to call on every read. */
  start(): void {
    this.listening ??= this.listen();
  }

  /** Stops listening; the process no longer hears, and forgets (`onGap`). */
  async stop(): Promise<void> {
    const stopListening = await this.listening;
    this.listening = undefined;
    this.hearing = false;
    this.handlers.onGap();
    await stopListening?.().catch(() => undefined);
  }

  private async listen(): Promise<(() => Promise<void>) | undefined> {
    try {
      return await this.broadcast.listen(this.handlers.onMessage, (hearing) => {
        this.handlers.onGap();
        this.hearing = hearing;
      });
    } catch (error) {
      this.handlers.onUnavailable(error);
      return undefined;
    }
  }
}

/** How long `listen` waits for its Redis subscription before going on without it. */
const SUBSCRIBE_TIMEOUT_MS = 2_000;

/**
 * Redis pub/sub when Redis is configured (it works behind PgBouncer, where LISTEN does not);
 * else PostgreSQL's LISTEN/NOTIFY; embedded, every reader and writer shares the process.
 * `name` is the channel, e.g. `jobs:wake`: under the key prefix in Redis, `bazaar_jobs_wake`
 * in PostgreSQL.
 */
export function broadcastFor(
  options: { database: DatabaseHandle; redis?: Redis; keyPrefix: string },
  name: string,
): Broadcast {
  if (options.redis) return redisBroadcast(options.redis, `${options.keyPrefix}${name}`);
  if (options.database.listen)
    return postgresBroadcast(options.database, `bazaar_${name.replace(/\W/g, '_')}`);
  return inProcessBroadcast();
}

export function inProcessBroadcast(): Broadcast {
  const listeners = new Set<(items: string[]) => void>();
  return {
    send: async (items) => {
      for (const listener of listeners) listener(items);
    },
    listen: async (onMessage, onListening) => {
      listeners.add(onMessage);
      onListening?.(true);
      return async () => void listeners.delete(onMessage);
    },
  };
}

function redisBroadcast(redis: Redis, channel: string): Broadcast {
  return {
    send: async (items) => void (await redis.publish(channel, JSON.stringify(items))),
    async listen(onMessage, onListening) {
      // A subscribed connection can do nothing else, so it is one of its own. It subscribes
      // whenever it (re)connects; the shared client already reports Redis being down.
      const subscriber = redis.duplicate({ autoResubscribe: false });
      subscriber.on('error', () => undefined);
      subscriber.on('message', (_channel: string, message: string) => onMessage(itemsOf(message)));
      subscriber.on('close', () => onListening?.(false));
      const subscribed = new Promise<void>((resolve) => {
        subscriber.on('ready', () => {
          subscriber.subscribe(channel).then(
            () => {
              onListening?.(true);
              resolve();
            },
            () => undefined,
          );
        });
      });
      await within(subscribed, SUBSCRIBE_TIMEOUT_MS);
      return async () => subscriber.disconnect();
    },
  };
}

function postgresBroadcast(database: DatabaseHandle, channel: string): Broadcast {
  return {
    send: async (items) =>
      void (await database.db.execute(sql`select pg_notify(${channel}, ${JSON.stringify(items)})`)),
    // postgres.js reports every (re)connection of its LISTEN connection, not the drops before
    // them: a reconnection is the moment to forget what may have been missed meanwhile.
    listen: (onMessage, onListening) =>
      database.listen!(
        channel,
        (payload) => onMessage(itemsOf(payload)),
        () => {
          onListening?.(false);
          onListening?.(true);
        },
      ),
  };
}

function itemsOf(message: string): string[] {
  try {
    const items: unknown = JSON.parse(message);
    return Array.isArray(items) ? items.filter((item) => typeof item === 'string') : [];
  } catch {
    return [];
  }
}

function within(promise: Promise<void>, ms: number): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    timer.unref();
    void promise.then(() => {
      clearTimeout(timer);
      resolve();
    });
  });
}
