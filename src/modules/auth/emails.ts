/** The mails the auth module sends: plain text for every client, and a simple HTML version. */

export interface MailBody {
  subject: string;
  text: string;
  html: string;
}

/** The link pages read the token from the fragment, which browsers never send to a server. */
export function accountLink(
  publicUrl: string,
  page: 'verify-email' | 'reset-password',
  token: string,
): string {
  return `${publicUrl}/account/${page}#token=${encodeURIComponent(token)}`;
}

export function verifyEmailMail(input: { name: string; link: string; ttlSeconds: number }): MailBody {
  const validity = describeDuration(input.ttlSeconds);
  return {
    subject: 'Confirm your e-mail address',
    text: [
      `Hello ${input.name},`,
      '',
      'Please confirm your e-mail address for your Bazaar account by opening this link:',
      '',
      input.link,
      '',
      `The link works once and expires in ${validity}. If you did not create an account, ignore this mail.`,
    ].join('\n'),
    html: layout(
      `<p>Hello ${escapeHtml(input.name)},</p>
<p>Please confirm your e-mail address for your Bazaar account.</p>
<p><a href="${escapeHtml(input.link)}">Confirm my e-mail address</a></p>
<p>The link works once and expires in ${validity}. If you did not create an account, ignore this mail.</p>`,
    ),
  };
}

export function passwordResetMail(input: { name: string; link: string; ttlSeconds: number }): MailBody {
  const validity = describeDuration(input.ttlSeconds);
  return {
    subject: 'Reset your password',
    text: [
      `Hello ${input.name},`,
      '',
      'Someone (hopefully you) asked to reset the password of your Bazaar account. To choose a new password, open:',
      '',
      input.link,
      '',
      `The link works once and expires in ${validity}. If you did not ask for this, ignore this mail: your password stays unchanged.`,
    ].join('\n'),
    html: layout(
      `<p>Hello ${escapeHtml(input.name)},</p>
<p>Someone (hopefully you) asked to reset the password of your Bazaar account.</p>
<p><a href="${escapeHtml(input.link)}">Choose a new password</a></p>
<p>The link works once and expires in ${validity}. If you did not ask for this, ignore this mail: your password stays unchanged.</p>`,
    ),
  };
}

function layout(body: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Bazaar</title></head>
<body style="font-family: system-ui, sans-serif; line-height: 1.5; max-width: 36rem;">
${body}
</body></html>`;
}

export function describeDuration(seconds: number): string {
  if (seconds % 86_400 === 0) return plural(seconds / 86_400, 'day');
  if (seconds % 3600 === 0) return plural(seconds / 3600, 'hour');
  if (seconds % 60 === 0) return plural(seconds / 60, 'minute');
  return plural(seconds, 'second');
}

function plural(n: number, unit: string): string {
  return `${n} ${unit}${n === 1 ? '' : 's'}`;
}

export function escapeHtml(value: string): string {
  return value.replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!,
  );
}
