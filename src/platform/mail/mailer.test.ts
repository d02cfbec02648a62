import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createMailer, newMessageId } from './mailer.js';

describe('mail to files', () => {
  const root = mkdtempSync(path.join(os.tmpdir(), 'bazaar-mail-'));
  const mailDir = path.join(root, 'mail');
  const mailer = createMailer({ from: 'shop@example.com', mailDir });
  afterAll(() => {
    mailer.close();
    rmSync(root, { recursive: true, force: true });
  });

  const send = (subject: string) =>
    mailer.send({
      to: 'ada@example.com',
      subject,
      text: subject,
      html: `<p>${subject}</p>`,
      template: 'test',
      messageId: newMessageId('shop@example.com'),
    });

  it('makes the folder with the first mail, and again when it was removed', async () => {
    await send('first');
    expect(readdirSync(mailDir)).toHaveLength(1);
    rmSync(mailDir, { recursive: true });
    await send('second');
    const files = readdirSync(mailDir);
    expect(files).toHaveLength(1);
    expect(readFileSync(path.join(mailDir, files[0]!), 'utf8')).toMatch(/^Subject: second$/m);
  });
});
