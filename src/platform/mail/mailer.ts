import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import type { Transporter } from 'nodemailer';

export interface MailMessage {
  to: string;
  subject: string;
  text: string;
  html?: string;
  /** Stable per message, so a retried job never sends a different mail. */
  messageId: string;
  /** A label for metrics and logs (e.g. `password-reset`). */
  template: string;
  attachments?: MailAttachment[];
}

/** A file sent with a mail; base64 so the message stays plain JSON in a job's payload. */
export interface MailAttachment {
  filename: string;
  contentType: string;
  contentBase64: string;
}

export interface Mailer {
  /** Where mail goes, for the startup banner. */
  readonly destination: string;
  send(message: MailMessage): Promise<void>;
  close(): void;
}

/**
 * Whether a send failed for good: the SMTP server answered with a 5xx reply code (e.g. 550
 * mailbox unavailable), so sending the same mail again cannot succeed. Anything else — a 4xx
 * reply, a refused or dropped connection, a timeout — may pass on a later try.
 */
export function isPermanentMailFailure(error: unknown): boolean {
  const code = (error as { responseCode?: unknown } | null)?.responseCode;
  return typeof code === 'number' && code >= 500 && code < 600;
}

export function newMessageId(from: string): string {
  const domain = /@([^>\s]+)/.exec(from)?.[1] ?? 'bazaar.local';
  return `<${randomUUID()}@${domain}>`;
}

/** SMTP when `smtpUrl` is set, otherwise `.eml` files in `mailDir`. */
export function createMailer(options: { smtpUrl?: string; from: string; mailDir: string }): Mailer {
  return options.smtpUrl
    ? smtpMailer(options.smtpUrl, options.from)
    : fileMailer(options.mailDir, options.from);
}

function toNodemailer(message: MailMessage, from: string) {
  return {
    from,
    to: message.to,
    subject: message.subject,
    text: message.text,
    html: message.html,
    messageId: message.messageId,
    headers: { 'X-Bazaar-Template': message.template },
    attachments: message.attachments?.map((a) => ({
      filename: a.filename,
      contentType: a.contentType,
      content: a.contentBase64,
      encoding: 'base64',
    })),
  };
}

type Nodemailer = typeof import('nodemailer');
let nodemailerModule: Promise<Nodemailer> | undefined;

/**
 * The transport, made with the first mail: nodemailer is loaded then, not at start-up (an API
 * server that never sends mail never loads it).
 */
function lazyTransport(create: (nodemailer: Nodemailer) => Transporter) {
  let transport: Promise<Transporter> | undefined;
  return {
    get: () =>
      (transport ??= (nodemailerModule ??= import('nodemailer')).then(create).catch((error: unknown) => {
        transport = undefined; // the next mail tries again
        throw error;
      })),
    close: () =>
      void transport?.then(
        (t) => t.close(),
        () => undefined,
      ),
  };
}

function smtpMailer(smtpUrl: string, from: string): Mailer {
  const transport = lazyTransport((nodemailer) => nodemailer.createTransport(smtpUrl));
  const url = new URL(smtpUrl);
  return {
    destination: `${url.protocol}//${url.host}`,
    async send(message) {
      await (await transport.get()).sendMail(toNodemailer(message, from));
    },
    close: transport.close,
  };
}

function fileMailer(mailDir: string, from: string): Mailer {
  const transport = lazyTransport((nodemailer) =>
    nodemailer.createTransport({ streamTransport: true, buffer: true, newline: 'unix' }),
  );
  return {
    destination: mailDir,
    async send(message) {
      const info = (await (await transport.get()).sendMail(toNodemailer(message, from))) as {
        message: Buffer;
      };
      const safeId = message.messageId.replace(/[^\w.-]/g, '');
      // Named by Message-ID: a retried job overwrites its own file instead of adding a second mail.
      const file = path.join(mailDir, `${safeId}.eml`);
      // The folder is made when a write finds it missing (first mail, or someone removed it).
      await writeFile(file, info.message).catch(async (error: NodeJS.ErrnoException) => {
        if (error.code !== 'ENOENT') throw error;
        await mkdir(mailDir, { recursive: true });
        await writeFile(file, info.message);
      });
    },
    close: transport.close,
  };
}
