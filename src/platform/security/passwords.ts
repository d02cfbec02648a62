import { availableParallelism } from 'node:os';
import type { Algorithm } from '@node-rs/argon2';
import { concurrencyLimit } from '../concurrency.js';

type Argon2 = typeof import('@node-rs/argon2');

/** The native argon2 module, loaded with the first hash or check rather than at start. */
let argon2: Promise<Argon2> | undefined;
const loadArgon2 = () => (argon2 ??= import('@node-rs/argon2'));

// OWASP's argon2id baseline: 19 MiB, 2 iterations, 1 lane. (The algorithm is a const enum of
// the module's types: its value is checked here, so the options need no import of the module.)
const ARGON2ID = 2 satisfies Algorithm.Argon2id;
const options = { algorithm: ARGON2ID, memoryCost: 19_456, timeCost: 2, parallelism: 1 };

/**
 * One hash or check per core at a time, and never all of libuv's pool (4 threads unless
 * `UV_THREADPOOL_SIZE` says otherwise). Each runs there for ~12–17 ms of CPU and holds 19 MiB
 * meanwhile: more at once than there are cores finishes none sooner, adds 19 MiB each to the
 * process, and keeps the pool from compression and file work.
 */
const poolThreads = Number(process.env.UV_THREADPOOL_SIZE) || 4;
const hashing = concurrencyLimit(Math.max(1, Math.min(availableParallelism(), poolThreads - 1)));

export async function hashPassword(password: string): Promise<string> {
  const { hash } = await loadArgon2();
  return hashing(() => hash(password, options));
}

export async function verifyPassword(passwordHash: string, password: string): Promise<boolean> {
  // Outside the try: a native module that cannot load is a server fault, not a wrong password.
  const { verify } = await loadArgon2();
  try {
    return await hashing(() => verify(passwordHash, password));
  } catch {
    return false;
  }
}

/**
 * A hash of a random password, verified against when the account does not exist, so that
 * "unknown e-mail" and "wrong password" take the same time.
 */
let decoy: Promise<string> | undefined;
export async function verifyAgainstDecoy(password: string): Promise<false> {
  decoy ??= hashPassword(`decoy-${Math.random()}`);
  await verifyPassword(await decoy, password);
  return false;
}
