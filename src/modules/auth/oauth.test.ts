import { describe, expect, it } from 'vitest';
import { parseBasicCredentials } from './oauth.js';

const basic = (value: string) => `Basic ${Buffer.from(value).toString('base64')}`;

describe('parseBasicCredentials', () => {
  it('reads client id and secret, form-decoded as RFC 6749 §2.3.1 asks', () => {
    expect(parseBasicCredentials(basic('bzr_abc:s3cr%3At'))).toEqual({
      clientId: 'bzr_abc',
      clientSecret: 's3cr:t',
    });
    expect(parseBasicCredentials(basic('id:a+b'))).toEqual({ clientId: 'id', clientSecret: 'a b' });
  });

  it('refuses other schemes and malformed values', () => {
    expect(parseBasicCredentials('Bearer abc')).toBeUndefined();
    expect(parseBasicCredentials(basic('no-colon'))).toBeUndefined();
    expect(parseBasicCredentials(basic('id:%E0%A4%A'))).toBeUndefined();
  });
});
