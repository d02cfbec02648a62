import { describe, expect, it } from 'vitest';
import { accountLink, describeDuration } from './emails.js';

describe('account mails', () => {
  it('put the token in the URL fragment, never in the query', () => {
    const link = accountLink('https://shop.example.com', 'reset-password', 'abc_123-x');
    expect(link).toBe('https://shop.example.com/account/reset-password#token=abc_123-x');
  });

  it('state the validity in words', () => {
    expect(describeDuration(172_800)).toBe('2 days');
    expect(describeDuration(3600)).toBe('1 hour');
    expect(describeDuration(5400)).toBe('90 minutes');
    expect(describeDuration(61)).toBe('61 seconds');
  });
});
