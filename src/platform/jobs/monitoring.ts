import { sql } from 'drizzle-orm';
import type { Executor } from '../db/client.js';
import { rowsOf } from '../db/client.js';

/**
 * Read-only SQL over pg-boss 10's tables (schema `pgboss`: `job`, partitioned by queue name,
 * and `archive`, where maintenance moves finished jobs after 12 hours). Every query names its
 * queues, so PostgreSQL only visits those partitions.
 */

export const DEAD_LETTER_SUFFIX = '__dead';

export const deadLetterQueueOf = (queue: string) => `${queue}${DEAD_LETTER_SUFFIX}`;

export interface QueueStats {
  queue: string;
  /** Waiting for a worker (state `created`), including jobs scheduled for later. */
  queued: number;
  active: number;
  /** Failed at least once and waiting for their next try (state `retry`). */
  retrying: number;
  /** Failed for good in the last 24 hours (they went on to the dead-letter queue). */
  failed: number;
  /** Dead letters not yet replayed. */
  deadLetters: number;
}

export interface DeadLetter {
  id: string;
  /** The handler queue the job failed on. */
  queue: string;
  data: unknown;
  /** The last failure's message. */
  error: string;
  failedAt: string;
  /** Retries made before it was dead-lettered (the queue's retry limit at the time). */
  retryCount: number;
}

const inList = (names: readonly string[]) =>
  sql.join(
    names.map((n) => sql`${n}`),
    sql`, `,
  );

/** Jobs waiting per queue (handler and dead-letter queues alike); cheap enough for every scrape. */
export async function waitingJobs(db: Executor, queues: readonly string[]): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  if (queues.length === 0) return out;
  const result = await db.execute(sql`
    select name, count(*)::int as n from pgboss.job
    where name in (${inList(queues)}) and state < 'active'
    group by name`);
  for (const row of rowsOf<{ name: string; n: number }>(result)) out.set(row.name, Number(row.n));
  return out;
}

export async function queueStats(db: Executor, queues: readonly string[]): Promise<QueueStats[]> {
  if (queues.length === 0) return [];
  const names = [...queues, ...queues.map(deadLetterQueueOf)];
  const result = await db.execute(sql`
    select name, state::text as state, count(*)::int as n from pgboss.job
    where name in (${inList(names)}) and state < 'completed'
    group by name, state
    union all
    select name, 'failed', count(*)::int from pgboss.job
    where name in (${inList(queues)}) and state = 'failed' and completed_on > now() - interval '24 hours'
    group by name
    union all
    select name, 'failed', count(*)::int from pgboss.archive
    where name in (${inList(queues)}) and state = 'failed'
      and archived_on > now() - interval '24 hours' and completed_on > now() - interval '24 hours'
    group by name`);
  const stats = new Map(
    queues.map((queue) => [
      queue,
      { queue, queued: 0, active: 0, retrying: 0, failed: 0, deadLetters: 0 } satisfies QueueStats,
    ]),
  );
  for (const { name, state, n } of rowsOf<{ name: string; state: string; n: number }>(result)) {
    const dead = name.endsWith(DEAD_LETTER_SUFFIX);
    const entry = stats.get(dead ? name.slice(0, -DEAD_LETTER_SUFFIX.length) : name);
    if (!entry) continue;
    const count = Number(n);
    if (dead) {
      if (state === 'created' || state === 'retry') entry.deadLetters += count;
    } else if (state === 'created') entry.queued += count;
    else if (state === 'retry') entry.retrying += count;
    else if (state === 'active') entry.active += count;
    else if (state === 'failed') entry.failed += count;
  }
  return [...stats.values()];
}

interface DeadLetterRow {
  id: string;
  name: string;
  data: string | null;
  output: string | null;
  failed_at: string;
  retry_limit: number;
}

export async function listDeadLetters(
  db: Executor,
  queues: readonly string[],
  page: { page: number; perPage: number },
): Promise<{ rows: DeadLetter[]; total: number }> {
  if (queues.length === 0) return { rows: [], total: 0 };
  const where = sql`name in (${inList(queues.map(deadLetterQueueOf))}) and state < 'active'`;
  const [rows, counted] = await Promise.all([
    db.execute(sql`
      select id::text, name, data::text as data, output::text as output, retry_limit,
        to_char(created_on at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') as failed_at
      from pgboss.job where ${where}
      order by created_on desc, id desc
      limit ${page.perPage} offset ${(page.page - 1) * page.perPage}`),
    db.execute(sql`select count(*)::int as n from pgboss.job where ${where}`),
  ]);
  return {
    rows: rowsOf<DeadLetterRow>(rows).map((row) => ({
      id: row.id,
      queue: row.name.slice(0, -DEAD_LETTER_SUFFIX.length),
      data: row.data === null ? null : (JSON.parse(row.data) as unknown),
      error: failureMessage(row.output),
      failedAt: row.failed_at,
      retryCount: Number(row.retry_limit),
    })),
    total: Number(rowsOf<{ n: number }>(counted)[0]?.n ?? 0),
  };
}

/**
 * Marks a waiting dead letter as handled (state `completed`, with a note of what replaced it) and
 * returns it; undefined when there is no such waiting dead letter. The row lock makes two
 * concurrent replays of one dead letter resolve to one.
 */
export async function takeDeadLetter(
  db: Executor,
  queues: readonly string[],
  id: string,
  note: Record<string, unknown>,
): Promise<{ queue: string; data: unknown } | undefined> {
  if (queues.length === 0) return undefined;
  const result = await db.execute(sql`
    update pgboss.job set state = 'completed', completed_on = now(), output = ${JSON.stringify(note)}::jsonb
    where name in (${inList(queues.map(deadLetterQueueOf))}) and id = ${id}::uuid and state < 'active'
    returning name, data::text as data`);
  const [row] = rowsOf<{ name: string; data: string | null }>(result);
  if (!row) return undefined;
  return {
    queue: row.name.slice(0, -DEAD_LETTER_SUFFIX.length),
    data: row.data === null ? null : (JSON.parse(row.data) as unknown),
  };
}

/** Whether a dead letter with this id exists in any state (to tell "replayed" from "unknown"). */
export async function deadLetterExists(
  db: Executor,
  queues: readonly string[],
  id: string,
): Promise<boolean> {
  if (queues.length === 0) return false;
  const result = await db.execute(sql`
    select 1 from pgboss.job
    where name in (${inList(queues.map(deadLetterQueueOf))}) and id = ${id}::uuid
    union all
    select 1 from pgboss.archive
    where name in (${inList(queues.map(deadLetterQueueOf))}) and id = ${id}::uuid
    limit 1`);
  return rowsOf(result).length > 0;
}

/** pg-boss stores a thrown error serialized (`{ name, message, stack }`), a timeout as `{ value: { message } }`. */
export function failureMessage(output: string | null): string {
  if (!output) return 'unknown error';
  try {
    const parsed = JSON.parse(output) as { message?: unknown; value?: unknown };
    const message =
      parsed.message ??
      (typeof parsed.value === 'object' && parsed.value !== null
        ? (parsed.value as { message?: unknown }).message
        : parsed.value);
    const text = typeof message === 'string' ? message : JSON.stringify(message ?? parsed);
    return text.slice(0, 1000);
  } catch {
    return output.slice(0, 1000);
  }
}
