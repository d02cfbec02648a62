import { readFileSync } from 'node:fs';
import path from 'node:path';
import { projectRoot } from '../../platform/paths.js';

export const PASSWORD_MIN_LENGTH = 8;
/** Generous on purpose (passphrases, password managers); argon2 hashes the whole input, never truncating. */
export const PASSWORD_MAX_LENGTH = 256;

const commonPasswordsFile = path.join(projectRoot, 'src/modules/auth/common-passwords.txt');
let commonPasswords: ReadonlySet<string> | undefined;

/** The shipped list of common passwords, lower-cased; lines starting with `#` are comments. */
export function loadCommonPasswords(file = commonPasswordsFile): ReadonlySet<string> {
  const lines = readFileSync(file, 'utf8').split(/\r?\n/);
  return new Set(
    lines
      .map((line) => line.trim())
      .filter((line) => line && !line.startsWith('#'))
      .map((line) => line.toLowerCase()),
  );
}

export function isCommonPassword(password: string): boolean {
  commonPasswords ??= loadCommonPasswords();
  return commonPasswords.has(password.toLowerCase());
}

/**
 * Why `password` is not acceptable for the account described by `owner`, or null when it is.
 * Length counts characters (code points), so an emoji is one character, not two.
 */
export function passwordProblem(
  password: string,
  owner: { email?: string; name?: string } = {},
): string | null {
  const length = [...password].length;
  if (length < PASSWORD_MIN_LENGTH) return `must be at least ${PASSWORD_MIN_LENGTH} characters`;
  if (length > PASSWORD_MAX_LENGTH) return `must be at most ${PASSWORD_MAX_LENGTH} characters`;
  if (isCommonPassword(password)) return 'is too common; choose a less guessable password';
  const lowered = password.toLowerCase();
  const personal = [owner.email, owner.email?.split('@')[0], owner.name].filter((v): v is string =>
    Boolean(v && v.length >= 3),
  );
  if (personal.some((value) => value.toLowerCase() === lowered))
    return 'must not be your e-mail address or name';
  return null;
}
