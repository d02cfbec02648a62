import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, signInAdmin, signUp, waitFor, type TestApp } from './helpers/app.js';
import { startSmtpCatcher, type CaughtMail, type SmtpCatcher } from './helpers/smtp.js';
import { payThroughTestGateway } from './helpers/test-gateway.js';

interface LogRow {
  id: string;
  user_id: string | null;
  recipient: string;
  template: string;
  subject: string;
  message_id: string;
  event_id: string | null;
  status: 'queued' | 'sent' | 'failed' | 'suppressed';
  attempts: number;
  last_error: string | null;
}

const templateOf = (mail: CaughtMail) => mail.headers['x-bazaar-template'];

function notificationLog(app: TestApp, token: () => string) {
  const list = async (query: Record<string, string>) => {
    const res = await app.api(
      'GET',
      `/api/v1/admin/notifications?${new URLSearchParams(query).toString()}`,
      undefined,
      token(),
    );
    expect(res.status).toBe(200);
    return res.body.data as LogRow[];
  };
  return {
    list,
    /** Waits for the log row of `template` to `recipient` to reach `status`. */
    waitFor: (recipient: string, template: string, status: LogRow['status']) =>
      waitFor(
        async () => (await list({ recipient, template })).find((row) => row.status === status),
        20_000,
        `${template} to ${recipient} ${status}`,
      ),
  };
}

/** Waits until none of `queues` has a job waiting, retrying or running. */
async function jobsSettled(app: TestApp, token: string, queues: string[]) {
  await waitFor(
    async () => {
      const stats = (await app.api('GET', '/api/v1/admin/jobs', undefined, token)).body.data as {
        queue: string;
        queued: number;
        active: number;
        retrying: number;
      }[];
      const busy = stats.filter((s) => queues.includes(s.queue) && s.queued + s.active + s.retrying > 0);
      return busy.length === 0 ? true : undefined;
    },
    20_000,
    `${queues.join(', ')} to settle`,
  );
}

const optIn = (app: TestApp, token: string) =>
  app.api(
    'PUT',
    '/api/v1/users/me/preferences',
    { locale: 'en', timezone: 'UTC', currency: 'USD', marketing_emails: true },
    token,
  );

describe('notifications (real SMTP on loopback)', () => {
  let smtp: SmtpCatcher;
  let app: TestApp;
  let admin: { accessToken: string };
  let log: ReturnType<typeof notificationLog>;
  beforeAll(async () => {
    smtp = await startSmtpCatcher();
    app = await createTestApp({
      work: true,
      env: { SMTP_URL: smtp.url, WELCOME_EMAIL_DELAY: '2', SHOP_NAME: 'Test Shop' },
    });
    admin = await signInAdmin(app);
    log = notificationLog(app, () => admin.accessToken);
  });
  afterAll(async () => {
    await app.close();
    await smtp.close();
  });

  it('sends the welcome mail only to a customer who opted in, and logs it suppressed otherwise', async () => {
    const subscriber = await signUp(app, { name: 'Olive Optin' });
    expect((await optIn(app, subscriber.accessToken)).status).toBe(200);
    const quiet = await signUp(app);

    const welcome = await smtp.waitForMail(subscriber.email, (m) => templateOf(m) === 'welcome');
    expect(welcome.subject).toBe('Welcome to Test Shop');
    expect(welcome.text).toContain('Hello Olive Optin');
    const sent = await log.waitFor(subscriber.email, 'welcome', 'sent');
    expect(sent).toMatchObject({ user_id: subscriber.userId, attempts: 1, message_id: welcome.messageId });

    const suppressed = await log.waitFor(quiet.email, 'welcome', 'suppressed');
    expect(suppressed).toMatchObject({ user_id: quiet.userId, attempts: 0, subject: 'Welcome to Test Shop' });
    await jobsSettled(app, admin.accessToken, ['notifications.deliver']);
    expect(smtp.messages.filter((m) => m.to.includes(quiet.email) && templateOf(m) === 'welcome')).toEqual(
      [],
    );
  });

  it('delivers the verify-email and password-reset mails from the templates, and logs them', async () => {
    const user = await signUp(app, { name: 'Vera' });
    const verify = await smtp.waitForMail(user.email, (m) => templateOf(m) === 'verify-email');
    expect(verify.subject).toBe('Confirm your e-mail address');
    expect(verify.text).toMatch(/\/account\/verify-email#token=[\w-]+/);
    expect(verify.text).toContain('your Test Shop account');

    await app.api('POST', '/api/v1/auth/password/forgot', { email: user.email });
    const reset = await smtp.waitForMail(user.email, (m) => templateOf(m) === 'password-reset');
    expect(reset.subject).toBe('Reset your password');
    expect(reset.text).toMatch(/\/account\/reset-password#token=[\w-]+/);
    expect(reset.text).toContain('expires in 1 hour');

    const verifyRow = await log.waitFor(user.email, 'verify-email', 'sent');
    expect(verifyRow).toMatchObject({ user_id: user.userId, message_id: verify.messageId, attempts: 1 });
    const resetRow = await log.waitFor(user.email, 'password-reset', 'sent');
    expect(resetRow.message_id).toBe(reset.messageId);
    const anyCase = await log.list({ recipient: user.email.toUpperCase(), status: 'sent' });
    expect(anyCase.map((r) => r.template).sort()).toEqual(['password-reset', 'verify-email']);
  });

  it('sends an operator’s override from the next mail on, and the built-in again after DELETE', async () => {
    const user = await signUp(app, { name: 'Otto' });
    const put = await app.api(
      'PUT',
      '/api/v1/admin/email-templates/password-reset',
      {
        subject: '{{shop_name}}: new password for {{name}}',
        text: 'Hi {{name}}, choose a new password here: {{link}} (valid for {{validity}})',
        html: '<p>Hi {{name}}, <a href="{{link}}">choose a new password</a>.</p>',
      },
      admin.accessToken,
    );
    expect(put.status).toBe(200);
    expect(put.body.data).toMatchObject({
      name: 'password-reset',
      overridden: true,
      subject: '{{shop_name}}: new password for {{name}}',
      built_in: { subject: 'Reset your password' },
    });
    const listed = await app.api('GET', '/api/v1/admin/email-templates', undefined, admin.accessToken);
    const overridden = (listed.body.data as { name: string; overridden: boolean }[]).filter(
      (t) => t.overridden,
    );
    expect(overridden.map((t) => t.name)).toEqual(['password-reset']);
    expect((listed.body.data as { name: string }[]).map((t) => t.name)).toEqual(
      expect.arrayContaining([
        'welcome',
        'verify-email',
        'password-reset',
        'order-received',
        'payment-receipt',
        'order-shipped',
        'refund-issued',
      ]),
    );

    await app.api('POST', '/api/v1/auth/password/forgot', { email: user.email });
    const custom = await smtp.waitForMail(user.email, (m) => templateOf(m) === 'password-reset');
    expect(custom.subject).toBe('Test Shop: new password for Otto');
    expect(custom.text).toMatch(
      /^Hi Otto, choose a new password here: \S+#token=[\w-]+ \(valid for 1 hour\)/,
    );

    const reset = await app.api(
      'DELETE',
      '/api/v1/admin/email-templates/password-reset',
      undefined,
      admin.accessToken,
    );
    expect(reset.status).toBe(200);
    expect(reset.body.data).toMatchObject({
      overridden: false,
      subject: 'Reset your password',
      updated_at: null,
    });

    await app.api('POST', '/api/v1/auth/password/forgot', { email: user.email });
    const builtIn = await smtp.waitForMail(
      user.email,
      (m) => templateOf(m) === 'password-reset' && m.messageId !== custom.messageId,
    );
    expect(builtIn.subject).toBe('Reset your password');

    const audit = await app.api(
      'GET',
      '/api/v1/admin/audit-log?target_type=email_template',
      undefined,
      admin.accessToken,
    );
    expect((audit.body.data as { action: string }[]).map((a) => a.action)).toEqual(
      expect.arrayContaining(['notifications.template_overridden', 'notifications.template_reset']),
    );
  });

  it('previews a template with its sample variables, and refuses unknown placeholders per part', async () => {
    const token = admin.accessToken;
    const preview = await app.api('POST', '/api/v1/admin/email-templates/order-shipped/preview', {}, token);
    expect(preview.status).toBe(200);
    expect(preview.body.data.subject).toBe('Your order BZ-100042 is on its way');
    expect(preview.body.data.html).toContain('00340434161094042557');
    expect(preview.body.data.html).toMatch(/^<!doctype html>/);

    const draft = await app.api(
      'POST',
      '/api/v1/admin/email-templates/order-shipped/preview',
      { subject: 'Tracking {{tracking_number}} via {{carrier}}' },
      token,
    );
    expect(draft.body.data.subject).toBe('Tracking 00340434161094042557 via DHL');
    expect(draft.body.data.text).toContain('has shipped with DHL');

    const typo = await app.api(
      'PUT',
      '/api/v1/admin/email-templates/welcome',
      { subject: 'Hi {{nme}}', text: 'Hello {{name}}', html: '<p>{{ coupon }} {{name}}</p>' },
      token,
    );
    expect(typo.status).toBe(400);
    expect(typo.body.error.code).toBe('VALIDATION_ERROR');
    expect(typo.body.error.details).toEqual([
      { field: 'subject', message: expect.stringContaining('{{nme}}') },
      { field: 'html', message: expect.stringContaining('{{coupon}}') },
    ]);
    const previewTypo = await app.api(
      'POST',
      '/api/v1/admin/email-templates/welcome/preview',
      { text: '{{order_number}}' },
      token,
    );
    expect(previewTypo.status).toBe(400);
    expect(previewTypo.body.error.details[0].field).toBe('text');
    const unchanged = await app.api('GET', '/api/v1/admin/email-templates/welcome', undefined, token);
    expect(unchanged.body.data).toMatchObject({ overridden: false, subject: 'Welcome to {{shop_name}}' });

    expect((await app.api('GET', '/api/v1/admin/email-templates/nope', undefined, token)).status).toBe(404);
    const customer = await signUp(app);
    expect(
      (await app.api('GET', '/api/v1/admin/email-templates', undefined, customer.accessToken)).status,
    ).toBe(403);
    expect(
      (await app.api('GET', '/api/v1/admin/notifications', undefined, customer.accessToken)).status,
    ).toBe(403);
  });

  it('exports a user’s mails with their data, and erasure blanks the address in the log', async () => {
    const user = await signUp(app);
    await log.waitFor(user.email, 'verify-email', 'sent');
    const exported = await app.api('GET', '/api/v1/users/me/export', undefined, user.accessToken);
    expect(exported.body.data.notifications).toContainEqual(
      expect.objectContaining({ template: 'verify-email', recipient: user.email, status: 'sent' }),
    );
    expect((await app.api('DELETE', '/api/v1/users/me', undefined, user.accessToken)).status).toBeLessThan(
      300,
    );
    expect(await log.list({ recipient: user.email })).toEqual([]);
    const erased = (await log.list({ template: 'verify-email', per_page: '100' })).filter(
      (r) => r.user_id === user.userId,
    );
    expect(erased).toEqual([expect.objectContaining({ recipient: 'erased', subject: '(erased)' })]);
  });

  it('sends one mail when the same event is delivered twice', async () => {
    const user = await signUp(app, { name: 'Dupe' });
    await log.waitFor(user.email, 'welcome', 'suppressed');
    await optIn(app, user.accessToken);

    const event = {
      event_id: randomUUID(),
      event_type: 'user.registered',
      event_time: new Date().toISOString(),
      source: 'test',
      data: { user_id: user.userId, email: user.email },
    };
    const { jobs, database } = app.bazaar;
    await database.db.transaction(async (tx) => {
      await jobs.enqueue(tx, 'user.registered.welcome-email', event);
      await jobs.enqueue(tx, 'user.registered.welcome-email', event);
    });

    await smtp.waitForMail(user.email, (m) => templateOf(m) === 'welcome');
    await jobsSettled(app, admin.accessToken, [
      'user.registered.welcome-email',
      'notifications.welcome',
      'notifications.deliver',
    ]);
    expect(
      smtp.messages.filter((m) => m.to.includes(user.email) && templateOf(m) === 'welcome'),
    ).toHaveLength(1);
    const rows = await log.list({ recipient: user.email, template: 'welcome' });
    expect(rows.filter((r) => r.event_id === event.event_id)).toHaveLength(1);
  });
});

describe('notification delivery failures', () => {
  let smtp: SmtpCatcher;
  let app: TestApp;
  let admin: { accessToken: string };
  let log: ReturnType<typeof notificationLog>;
  let attempts = 0;
  /** The SMTP reply to the next message: undefined accepts it. */
  let reply: (attempt: number) => number | undefined = () => undefined;
  beforeAll(async () => {
    smtp = await startSmtpCatcher({ rejectWith: () => reply(++attempts) });
    app = await createTestApp({ work: true, env: { SMTP_URL: smtp.url } });
    admin = await signInAdmin(app);
    log = notificationLog(app, () => admin.accessToken);
  });
  afterAll(async () => {
    await app.close();
    await smtp.close();
  });

  it('retries a temporary failure (451) and delivers the mail once, with the Message-ID it was logged with', async () => {
    attempts = 0;
    reply = (attempt) => (attempt === 1 ? 451 : undefined);
    const user = await signUp(app);
    const mail = await smtp.waitForMail(user.email, (m) => templateOf(m) === 'verify-email', 25_000);
    const row = await log.waitFor(user.email, 'verify-email', 'sent');
    expect(attempts).toBe(2);
    expect(row.attempts).toBe(2);
    expect(row.last_error).toContain('451');
    expect(row.message_id).toBe(mail.messageId);
    expect(smtp.messages.filter((m) => m.to.includes(user.email))).toHaveLength(1);
  });

  it('does not retry a permanent failure (550): one attempt, logged failed, dead-lettered; a replay sends it', async () => {
    attempts = 0;
    reply = () => 550;
    const user = await signUp(app);
    const row = await log.waitFor(user.email, 'verify-email', 'failed');
    expect(row.attempts).toBe(1);
    expect(row.last_error).toContain('550');

    const deadLetters = await app.api(
      'GET',
      '/api/v1/admin/jobs/dead-letters?queue=notifications.deliver',
      undefined,
      admin.accessToken,
    );
    const dead = (
      deadLetters.body.data as { id: string; data: { notification_id: string }; error: string }[]
    ).find((d) => d.data.notification_id === row.id);
    expect(dead).toBeDefined();
    expect(dead!.error).toContain('550');
    // JOB_RETRY_DELAY is 1 s in tests: a retry would have come by now.
    await new Promise((resolve) => setTimeout(resolve, 2500));
    expect(attempts).toBe(1);
    expect((await log.list({ recipient: user.email, template: 'verify-email' }))[0]?.status).toBe('failed');

    reply = () => undefined;
    const replay = await app.api(
      'POST',
      `/api/v1/admin/jobs/dead-letters/${dead!.id}/replay`,
      undefined,
      admin.accessToken,
    );
    expect(replay.status).toBe(202);
    const mail = await smtp.waitForMail(user.email, (m) => templateOf(m) === 'verify-email');
    expect(mail.messageId).toBe(row.message_id);
    const sent = await log.waitFor(user.email, 'verify-email', 'sent');
    expect(sent.attempts).toBe(2);
  });
});

/** The MIME parts of a mail that are attachments, decoded. */
function attachmentsOf(mail: CaughtMail) {
  const boundaries = [...mail.raw.matchAll(/boundary="?([^";\r\n]+)"?/gi)].map((m) => m[1]!);
  const escaped = boundaries.map((b) => b.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
  const parts = mail.raw.split(new RegExp(`\\r?\\n--(?:${escaped.join('|')})(?:--)?\\r?\\n`));
  return parts.flatMap((part) => {
    const [head = '', ...body] = part.split(/\r?\n\r?\n/);
    const headers = Object.fromEntries(
      head
        .replace(/\r?\n[ \t]+/g, ' ')
        .split(/\r?\n/)
        .map((line) => [
          line.slice(0, line.indexOf(':')).trim().toLowerCase(),
          line.slice(line.indexOf(':') + 1).trim(),
        ]),
    );
    const disposition = headers['content-disposition'] ?? '';
    if (!disposition.startsWith('attachment')) return [];
    return [
      {
        contentType: (headers['content-type'] ?? '').split(';')[0],
        filename: /filename="?([^";]+)"?/.exec(disposition)?.[1],
        content: Buffer.from(body.join('').replace(/\s+/g, ''), 'base64'),
      },
    ];
  });
}

describe('order mail', () => {
  let smtp: SmtpCatcher;
  let app: TestApp;
  let admin: { accessToken: string };
  let customer: Awaited<ReturnType<typeof signUp>>;
  beforeAll(async () => {
    smtp = await startSmtpCatcher();
    app = await createTestApp({ listen: true, work: true, env: { SMTP_URL: smtp.url } });
    admin = await signInAdmin(app);
    customer = await signUp(app);
  });
  afterAll(async () => {
    await app.close();
    await smtp.close();
  });

  const as = (token: string) => (method: 'GET' | 'POST', url: string, body?: unknown) =>
    app.api(method, url, body, token, method === 'POST' ? { 'idempotency-key': randomUUID() } : {});

  async function placeOrder(email: string) {
    const sku = `MAIL-${randomUUID().slice(0, 8)}`.toUpperCase();
    const product = await as(admin.accessToken)('POST', '/api/v1/products', {
      title: 'Linen shirt',
      status: 'active',
      variants: [
        { sku, options: { size: 'M' }, price: { amount: 2500, currency: 'USD' }, initial_stock: 10 },
      ],
    });
    expect(product.status, product.raw).toBe(201);
    const order = await as(customer.accessToken)('POST', '/api/v1/orders', {
      items: [{ variant_id: product.body.data.variants[0].id, quantity: 2 }],
      email,
      shipping_address: {
        name: 'Sam Shopper',
        line1: '2 Elm Road',
        city: 'Springfield',
        postal_code: '12345',
        country: 'US',
      },
    });
    expect(order.status, order.raw).toBe(201);
    return order.body.data as { id: string; number: string; totals: { total: number } };
  }

  it('mails order received, the receipt with the PDF invoice, shipped and refund — each once', async () => {
    const email = `buyer-${randomUUID().slice(0, 8)}@example.com`;
    const order = await placeOrder(email);
    const total = `USD ${(order.totals.total / 100).toFixed(2)}`;

    const received = await smtp.waitForMail(email, (m) => templateOf(m) === 'order-received');
    expect(received.subject).toBe(`We received your order ${order.number}`);
    expect(received.text).toContain('Hello Sam Shopper');
    expect(received.text).toMatch(/^2 × Linen shirt\b.* — USD 50\.00$/m);
    expect(received.text).toContain(`Total: ${total}`);

    await payThroughTestGateway(app, customer.accessToken, order.id);
    const receipt = await smtp.waitForMail(email, (m) => templateOf(m) === 'payment-receipt', 25_000);
    expect(receipt.subject).toBe(`Receipt for your order ${order.number}`);
    const invoiceNumber = /invoice (INV-\d+) is attached/.exec(receipt.text)?.[1];
    expect(invoiceNumber).toBeDefined();
    const [pdf, ...others] = attachmentsOf(receipt);
    expect(others).toEqual([]);
    expect(pdf).toMatchObject({ contentType: 'application/pdf', filename: `${invoiceNumber}.pdf` });
    expect(pdf!.content.subarray(0, 5).toString()).toBe('%PDF-');

    const staff = as(admin.accessToken);
    expect((await staff('POST', `/api/v1/orders/${order.id}/fulfill`, {})).status).toBe(200);
    const shipped = await staff('POST', `/api/v1/orders/${order.id}/ship`, {
      tracking_number: '00340434161094042557',
      carrier: 'DHL',
    });
    expect(shipped.status, shipped.raw).toBe(200);
    const shippedMail = await smtp.waitForMail(email, (m) => templateOf(m) === 'order-shipped');
    expect(shippedMail.text).toContain('has shipped with DHL. Tracking number: 00340434161094042557');

    const refund = await staff('POST', `/api/v1/orders/${order.id}/refunds`, {
      amount: 500,
      reason: 'Item returned',
    });
    expect(refund.status, refund.raw).toBeLessThan(300);
    const refundMail = await smtp.waitForMail(email, (m) => templateOf(m) === 'refund-issued', 25_000);
    expect(refundMail.text).toContain('we refunded USD 5.00 for your order');
    expect(refundMail.text).toContain('(Item returned)');

    const log = notificationLog(app, () => admin.accessToken);
    await log.waitFor(email, 'refund-issued', 'sent');
    await jobsSettled(app, admin.accessToken, ['notifications.deliver']);
    const rows = await log.list({ recipient: email });
    expect(rows.map((r) => `${r.template}:${r.status}`).sort()).toEqual([
      'order-received:sent',
      'order-shipped:sent',
      'payment-receipt:sent',
      'refund-issued:sent',
    ]);
    expect(rows.every((r) => r.user_id === customer.userId && r.event_id !== null)).toBe(true);
    expect(smtp.messages.filter((m) => m.to.includes(email))).toHaveLength(4);
  });
});
