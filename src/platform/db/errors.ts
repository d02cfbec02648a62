/**
 * The unique constraint a database error violated, if that is what it is. Both drivers report
 * SQLSTATE 23505; postgres.js names the constraint `constraint_name`, PGlite `constraint`, and
 * drizzle wraps either in a `cause`.
 */
export function violatedUniqueConstraint(error: unknown): string | undefined {
  for (let e: unknown = error, depth = 0; e && typeof e === 'object' && depth < 5; depth += 1) {
    const fields = e as { code?: unknown; constraint_name?: unknown; constraint?: unknown; cause?: unknown };
    if (fields.code === '23505') {
      const name = fields.constraint_name ?? fields.constraint;
      return typeof name === 'string' ? name : '';
    }
    e = fields.cause;
  }
  return undefined;
}
