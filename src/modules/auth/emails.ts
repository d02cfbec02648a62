/**
 * What the auth module puts into its mails. The mails themselves (verify-email, password-reset)
 * are templates of the notifications module, where every e-mail lives.
 */

/** The link pages read the token from the fragment, which browsers never send to a server. */
export function accountLink(
  publicUrl: string,
  page: 'verify-email' | 'reset-password',
  token: string,
): string {
  return `${publicUrl}/account/${page}#token=${encodeURIComponent(token)}`;
}

/** A link's validity in words: `2 days`, `1 hour`, `90 seconds`. */
export function describeDuration(seconds: number): string {
  if (seconds % 86_400 === 0) return plural(seconds / 86_400, 'day');
  if (seconds % 3600 === 0) return plural(seconds / 3600, 'hour');
  if (seconds % 60 === 0) return plural(seconds / 60, 'minute');
  return plural(seconds, 'second');
}

function plural(n: number, unit: string): string {
  return `${n} ${unit}${n === 1 ? '' : 's'}`;
}
