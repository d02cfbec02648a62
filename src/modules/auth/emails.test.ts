import { describe, expect, it } from 'vitest';
import { accountLink, escapeHtml, passwordResetMail, verifyEmailMail } from './emails.js';

describe('account mails', () => {
  it('put the token in the URL fragment, never in the query', () => {
    const link = accountLink('https://shop.example.com', 'reset-password', 'abc_123-x');
    expect(link).toBe('https://shop.example.com/account/reset-password#token=abc_123-x');
  });

  it('escape the user’s name in HTML and state the validity', () => {
    const mail = verifyEmailMail({
      name: '<script>x</script>',
      link: 'https://s.example/account/verify-email#token=t',
      ttlSeconds: 172_800,
    });
    expect(mail.html).not.toContain('<script>');
    expect(mail.html).toContain(escapeHtml('<script>x</script>'));
    expect(mail.text).toContain('2 days');
    expect(passwordResetMail({ name: 'Ada', link: 'l', ttlSeconds: 3600 }).text).toContain('1 hour');
  });
});
