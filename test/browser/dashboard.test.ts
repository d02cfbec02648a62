/**
 * The admin dashboard in a real Chromium (playwright-core + Debian's /usr/bin/chromium) against a
 * real server with a worker: the operator's daily flow, screenshots of every page at 1280 and
 * 390 px (artifacts/screenshots/), and an axe-core accessibility check of each page.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminDistDir } from '../../src/platform/http/admin-static.js';
import { createTestApp, signUp, waitFor, type TestApp } from '../helpers/app.js';

const require = createRequire(import.meta.url);
const axeSource = readFileSync(require.resolve('axe-core'), 'utf8');
const SCREENSHOTS = path.resolve('artifacts', 'screenshots');
const POISON_QUEUE = 'test.poisoned.apply';
const poison = { failing: true, applied: 0 };
/** While set, the test gateway's webhooks wait for it: its refund stays pending until released. */
const webhookGate: { held?: Promise<void>; release?: () => void } = {};
function holdWebhooks(): () => void {
  webhookGate.held = new Promise((resolve) => (webhookGate.release = resolve));
  return () => {
    webhookGate.release?.();
    webhookGate.held = undefined;
  };
}

let app: TestApp;
let browser: Browser;
let page: Page;
const admin = {
  email: `owner-${randomBytes(3).toString('hex')}@example.com`,
  password: `Owner-${randomBytes(8).toString('hex')}`,
};
const tag = randomBytes(3).toString('hex').toUpperCase();
const product = { title: `Linen Apron ${tag}`, skus: [`APRON-${tag}-S`, `APRON-${tag}-L`] };
const flow: {
  productId?: string;
  orderId?: string;
  orderNumber?: string;
  customer?: Awaited<ReturnType<typeof signUp>>;
} = {};
/** Serious or critical axe violations per page, asserted in the last test. */
const violations = new Map<string, string[]>();
/** Anything the page's Content-Security-Policy blocked. */
const cspViolations: string[] = [];

beforeAll(async () => {
  if (!existsSync(path.join(adminDistDir, 'index.html'))) {
    throw new Error('The dashboard is not built: run `npm run build` before `npm run test:browser`.');
  }
  mkdirSync(SCREENSHOTS, { recursive: true });
  app = await createTestApp({
    listen: true,
    work: true,
    env: { JOB_RETRY_LIMIT: '1', JOB_RETRY_DELAY: '1' },
    setup: (bazaar) => {
      bazaar.http.addHook('onRequest', async (request) => {
        if (request.url === '/api/v1/webhooks/test') await webhookGate.held;
      });
      bazaar.jobs.subscribe<{ n: number }>('test.poisoned', 'apply', async () => {
        if (poison.failing) throw new Error('warehouse API unreachable (test poison)');
        poison.applied += 1;
      });
    },
  });
  await app.bazaar.auth.createAdminIfMissing(app.bazaar.systemContext(), admin.email, admin.password);
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
      '--disable-quic',
    ],
  });
  page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  page.setDefaultTimeout(20_000);
  page.on('pageerror', (error) => console.error(`page error: ${error.message}`));
  page.on('console', (message) => {
    if (message.text().includes('Content Security Policy'))
      cspViolations.push(`${page.url()}: ${message.text()}`);
  });
});

afterAll(async () => {
  await browser?.close();
  await app?.close();
});

const url = (to: string) => `${app.url}/admin${to}`;

/** Full-page screenshots at 1280 and 390 px, then an axe-core run on the page as it is. */
async function capture(name: string) {
  await page.waitForSelector('.state-loading', { state: 'detached' });
  for (const [label, width, height] of [
    ['desktop', 1280, 900],
    ['narrow', 390, 844],
  ] as const) {
    await page.setViewportSize({ width, height });
    await page.screenshot({ path: path.join(SCREENSHOTS, `${name}-${label}.png`), fullPage: true });
  }
  await page.setViewportSize({ width: 1280, height: 900 });
  // Evaluated through the DevTools protocol: the page's CSP rightly refuses an injected <script>.
  await page.evaluate(axeSource);
  const found = await page.evaluate(async () => {
    const axe = (
      window as unknown as {
        axe: {
          run(): Promise<{ violations: { id: string; impact: string; nodes: { target: string[] }[] }[] }>;
        };
      }
    ).axe;
    const result = await axe.run();
    return result.violations
      .filter((v) => v.impact === 'serious' || v.impact === 'critical')
      .map((v) => `${v.id} (${v.impact}) at ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`);
  });
  violations.set(name, found);
}

/** The order page's line of its one refund, inside its payment's line. */
const refundLine = () => page.getByRole('listitem').filter({ hasText: /^Refund \$24\.00/ });

async function signIn() {
  await page.getByLabel('E-mail').fill(admin.email);
  await page.getByLabel('Password').fill(admin.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
}

describe('admin dashboard in Chromium', () => {
  it('serves the SPA at /admin under a strict CSP, with long-cached hashed assets', async () => {
    const index = await fetch(url('/orders/deep/link'));
    expect(index.status).toBe(200);
    expect(index.headers.get('cache-control')).toBe('no-cache');
    const csp = index.headers.get('content-security-policy')!;
    expect(csp).toContain("script-src 'self'");
    expect(csp).not.toContain('unsafe-inline');
    const html = await index.text();
    const asset = /src="(\/admin\/assets\/[^"]+\.js)"/.exec(html)![1]!;
    const script = await fetch(`${app.url}${asset}`);
    expect(script.status).toBe(200);
    expect(script.headers.get('cache-control')).toContain('immutable');
    expect(html).not.toMatch(/<script>(?!<\/script>)/);
  });

  it('sends a signed-out visitor to sign-in and back to the page they asked for', async () => {
    await page.goto(url('/orders'));
    await page.waitForURL(/\/admin\/login\?next=%2Forders/);
    await capture('sign-in');
    await page.getByLabel('Password').fill('wrong password');
    await page.getByLabel('E-mail').fill(admin.email);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page
      .getByRole('alert')
      .filter({ hasText: /invalid/i })
      .waitFor();
    await signIn();
    await page.waitForURL(/\/admin\/orders$/);
    await page.getByRole('heading', { name: 'Orders' }).waitFor();
    // The refresh token is an httpOnly cookie, invisible to scripts; nothing is in storage.
    expect(await page.evaluate(() => document.cookie)).toBe('');
    expect(await page.evaluate(() => localStorage.length + sessionStorage.length)).toBe(0);
    const cookies = await page.context().cookies();
    expect(cookies.find((c) => c.name === 'bazaar_refresh')).toMatchObject({
      httpOnly: true,
      sameSite: 'Strict',
    });
  });

  it('restores the session from the cookie after a reload', async () => {
    await page.goto(url('/'));
    await page.getByRole('heading', { name: 'Overview' }).waitFor();
    await page.getByText('Orders today').waitFor();
  });

  it('creates a product with two variants and finds it in the list', async () => {
    await page.goto(url('/products/new'));
    await page.getByLabel('Title', { exact: true }).first().fill(product.title);
    await page.getByLabel('Status').selectOption('active');
    await page.getByRole('button', { name: 'Create product' }).click();
    // The server's field errors show inline: the variant has no SKU yet.
    const first = page.getByRole('group', { name: 'Variant 1' });
    await first.locator('.field-error').first().waitFor();
    await first.getByLabel('SKU').fill(product.skus[0]!);
    await first.getByLabel('Options').fill('size=S');
    await first.getByLabel('Price').fill('24.00');
    await first.getByLabel('Initial stock').fill('10');
    await page.getByRole('button', { name: 'Add variant' }).click();
    const second = page.getByRole('group', { name: 'Variant 2' });
    await second.getByLabel('SKU').fill(product.skus[1]!);
    await second.getByLabel('Options').fill('size=L');
    await second.getByLabel('Price').fill('26.00');
    await second.getByLabel('Initial stock').fill('3');
    await page.getByRole('button', { name: 'Create product' }).click();
    await page.waitForURL(/\/admin\/products\/[0-9a-f-]{36}$/);
    flow.productId = page.url().split('/').at(-1);
    await page.getByRole('button', { name: 'Save changes' }).waitFor();
    await capture('product-edit');

    await page.goto(url(`/products?q=${encodeURIComponent(product.title)}`));
    const row = page.getByRole('row').filter({ hasText: product.title });
    await row.waitFor();
    expect(await row.textContent()).toContain('$24.00');
    await capture('products');
  });

  it('finds an order placed and paid through the API, ships it and shows the timeline', async () => {
    const customer = await signUp(app);
    flow.customer = customer;
    const stored = await app.api('GET', `/api/v1/products/${flow.productId}`);
    const variantId = stored.body.data.variants.find((v: { sku: string }) => v.sku === product.skus[0]).id;
    const order = await app.api(
      'POST',
      '/api/v1/orders',
      {
        items: [{ variant_id: variantId, quantity: 2 }],
        email: customer.email,
        shipping_address: {
          name: 'Sam Shopper',
          line1: '2 Elm Road',
          city: 'Springfield',
          postal_code: '12345',
          country: 'US',
        },
      },
      customer.accessToken,
      { 'idempotency-key': randomUUID() },
    );
    expect(order.status, order.raw).toBe(201);
    flow.orderId = order.body.data.id;
    flow.orderNumber = order.body.data.number;
    const payment = await app.api(
      'POST',
      `/api/v1/orders/${flow.orderId}/payments`,
      { gateway: 'test' },
      customer.accessToken,
    );
    const confirm = await fetch(
      `${app.url}/test-gateway/v1/payment_intents/${payment.body.data.gateway_reference}/confirm`,
      {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          client_secret: payment.body.data.client_secret,
          card_number: '4242424242424242',
        }),
      },
    );
    expect(confirm.status).toBe(200);
    await waitFor(async () => {
      const res = await app.api('GET', `/api/v1/orders/${flow.orderId}`, undefined, customer.accessToken);
      return res.body.data.status === 'paid' ? true : undefined;
    });

    await page.goto(url('/orders'));
    await page.getByLabel('Order number or e-mail').fill(flow.orderNumber!);
    await page.getByLabel('Status').selectOption('paid');
    await page.getByRole('button', { name: 'Filter' }).click();
    await page.waitForURL(/status=paid/);
    await capture('orders');
    await page.getByRole('link', { name: flow.orderNumber! }).click();
    await page.getByRole('heading', { name: `Order ${flow.orderNumber}` }).waitFor();
    await page.getByText('$48.00').first().waitFor();

    await page.getByRole('button', { name: 'Fulfil' }).click();
    await page
      .getByRole('dialog', { name: `Fulfil ${flow.orderNumber}?` })
      .getByRole('button', { name: 'Fulfil order' })
      .click();
    await page.getByRole('button', { name: 'Ship' }).click();
    const dialog = page.getByRole('dialog', { name: `Ship ${flow.orderNumber}` });
    await dialog.getByLabel('Tracking number').fill('1Z999AA10123456784');
    await dialog.getByLabel('Carrier').fill('UPS');
    await dialog.getByRole('button', { name: 'Mark shipped' }).click();
    await page.locator('.tracking', { hasText: '1Z999AA10123456784' }).waitFor();
    const timeline = page.getByRole('list', { name: 'Status timeline' });
    const steps = await timeline.locator('.badge').allTextContents();
    expect(steps).toEqual(['pending payment', 'paid', 'fulfilled', 'shipped']);
    await capture('order-detail');
  });

  it('refunds part of the order after a confirmation, and follows the refund as it settles', async () => {
    await page.getByRole('button', { name: 'Refund' }).click();
    const dialog = page.getByRole('dialog', { name: `Refund ${flow.orderNumber}` });
    await dialog.getByLabel('Reason').fill('one apron arrived torn');
    await dialog.getByLabel(/Amount/).fill('999');
    await dialog.getByRole('button', { name: 'Refund' }).click();
    // More than was paid: the server refuses, the dialog stays open with its message.
    await dialog.getByRole('alert').waitFor();

    // The gateway takes the refund at once but confirms it by webhook, held back here.
    const release = holdWebhooks();
    try {
      await dialog.getByLabel(/Amount/).fill('24.00');
      await dialog.getByRole('button', { name: 'Refund' }).click();
      await dialog.waitFor({ state: 'hidden' });
      await refundLine().locator('.badge', { hasText: 'pending' }).waitFor();
      expect(await page.locator('.page-header .badge').textContent()).toBe('shipped');
      expect(await page.getByText('refunded $24.00').count()).toBe(0);
    } finally {
      release();
    }

    // The page reads again on its own until the refund has settled; nothing reloads it here.
    const badge = page.locator('.page-header .badge', { hasText: 'partially refunded' });
    await badge.waitFor();
    await page.getByText('refunded $24.00').waitFor();
    await refundLine().locator('.badge', { hasText: 'succeeded' }).waitFor();
    expect(await page.getByText('refunded $24.00').count()).toBe(1);
  });

  it('adjusts stock with a reason', async () => {
    await page.goto(url(`/inventory?sku=${product.skus[1]}`));
    const row = page.getByRole('row').filter({ hasText: product.skus[1]! });
    await row.waitFor();
    expect(await row.textContent()).toContain('low');
    await row.getByRole('button', { name: `Adjust stock of ${product.skus[1]}` }).click();
    const dialog = page.getByRole('dialog');
    await dialog.getByLabel('Change in units').fill('12');
    await dialog.getByLabel('Reason').fill('restocked from supplier');
    await dialog.getByRole('button', { name: 'Adjust stock' }).click();
    await dialog.waitFor({ state: 'hidden' });
    await page.getByRole('cell', { name: '15', exact: true }).first().waitFor();
    const stock = await app.api(
      'GET',
      `/api/v1/admin/inventory?sku=${product.skus[1]}`,
      undefined,
      await adminToken(),
    );
    expect(stock.body.data[0]).toMatchObject({ on_hand: 15, available: 15 });
    await capture('inventory');
  });

  it('replays a dead letter that failed for real', async () => {
    const db = app.bazaar.database.db;
    await db.transaction((tx) => app.bazaar.jobs.publish(tx, 'test.poisoned', { n: 1 }, 'test'));
    const token = await adminToken();
    await waitFor(
      async () => {
        const res = await app.api(
          'GET',
          `/api/v1/admin/jobs/dead-letters?queue=${POISON_QUEUE}`,
          undefined,
          token,
        );
        return res.body.meta.total === 1 ? true : undefined;
      },
      30_000,
      'the poisoned job to be dead-lettered',
    );
    poison.failing = false;
    await page.goto(url('/jobs'));
    const letter = page.locator('.dead-letter', { hasText: POISON_QUEUE });
    await letter.getByText('warehouse API unreachable').waitFor();
    await capture('jobs');
    await letter.getByRole('button', { name: `Replay dead letter of ${POISON_QUEUE}` }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Replay' }).click();
    await page.getByText(/Replayed as job/).waitFor();
    await waitFor(() => (poison.applied === 1 ? true : undefined), 30_000, 'the replayed job to run');
    await page.getByText('No dead letters').waitFor();
  });

  it('shows the actions in the audit log, with diffs', async () => {
    await page.goto(url('/audit'));
    await page.getByRole('heading', { name: 'Audit log' }).waitFor();
    const actions = await page.locator('td.action').allTextContents();
    for (const action of [
      'catalog.product_created',
      'payments.refund_requested',
      'inventory.adjusted',
      'jobs.dead_letter_replayed',
    ]) {
      expect(actions).toContain(action);
    }
    await page.getByLabel('Action').fill('inventory.adjusted');
    await page.getByRole('button', { name: 'Filter' }).click();
    await page.waitForURL(/action=inventory.adjusted/);
    await page.waitForSelector('.reloading', { state: 'detached' });
    expect(new Set(await page.locator('td.action').allTextContents())).toEqual(
      new Set(['inventory.adjusted']),
    );
    await capture('audit-log');
  });

  it('shows customers with their orders and sessions', async () => {
    await page.goto(url(`/customers?q=${encodeURIComponent(flow.customer!.email)}`));
    await page.getByRole('link', { name: flow.customer!.email }).click();
    await page.getByRole('link', { name: flow.orderNumber! }).waitFor();
    await page.getByRole('heading', { name: 'Sessions' }).waitFor();
    await capture('customer-detail');
    await page.goto(url('/customers'));
    await page.getByRole('heading', { name: 'Customers' }).waitFor();
    await capture('customers');
  });

  it('sums up the day on the overview: the order, its revenue after the refund, the sign-up', async () => {
    await page.goto(url('/'));
    const stat = (label: string) => page.locator('.stat', { hasText: label }).locator('.stat-value');
    await stat('Orders today').getByText('1', { exact: true }).waitFor();
    // $53.00 paid ($48.00 + $5.00 shipping), $24.00 refunded.
    expect(await stat('Revenue today').textContent()).toBe('$29.00');
    expect(Number(await stat('Sign-ups today').textContent())).toBeGreaterThanOrEqual(1);
    expect(await page.getByRole('img', { name: /Orders per day: 1 over 30 days/ }).count()).toBe(1);
    await capture('overview');
  });

  it('creates an API client and shows its secret once', async () => {
    await page.goto(url('/settings'));
    await page.getByRole('button', { name: 'New API client' }).click();
    const dialog = page.getByRole('dialog', { name: 'New API client' });
    await dialog.getByLabel('Name').fill('Warehouse sync');
    await dialog.getByRole('button', { name: 'Create client' }).click();
    const secret = await page.locator('.client-secret').textContent();
    expect(secret?.length).toBeGreaterThan(20);
    await page.getByLabel('Preview a template').selectOption({ index: 1 });
    await page.locator('.preview-text').waitFor();
    await capture('settings');
    await page.getByRole('button', { name: 'I have copied it' }).click();
    expect(await page.locator('.client-secret').count()).toBe(0);
  });

  it('sends an expired session back to sign-in and then to the page it was on', async () => {
    // Signing out everywhere (from another device) ends the browser's session too.
    const other = await app.api('POST', '/api/v1/auth/login', admin);
    await app.api('POST', '/api/v1/auth/logout-all', undefined, other.body.data.access_token);
    await page.getByRole('link', { name: 'Inventory' }).click();
    await page.waitForURL(/\/admin\/login\?next=%2Finventory&expired=1/);
    await page.getByText('Your session ended').waitFor();
    await signIn();
    await page.waitForURL(/\/admin\/inventory$/);
    await page.getByRole('heading', { name: 'Inventory' }).waitFor();
  });

  it('works on a narrow screen: the navigation folds behind a menu button', async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    const menu = page.getByRole('button', { name: 'Menu' });
    expect(await page.getByRole('link', { name: 'Audit log' }).isVisible()).toBe(false);
    await menu.click();
    await page.getByRole('link', { name: 'Audit log' }).click();
    await page.getByRole('heading', { name: 'Audit log' }).waitFor();
    await page.setViewportSize({ width: 1280, height: 900 });
  });

  it('runs without anything blocked by the strict Content-Security-Policy', () => {
    expect(cspViolations).toEqual([]);
  });

  it('has no serious or critical accessibility violations on any page', () => {
    expect(violations.size).toBeGreaterThanOrEqual(11);
    expect(Object.fromEntries([...violations].filter(([, found]) => found.length > 0))).toEqual({});
  });
});

async function adminToken(): Promise<string> {
  const login = await app.api('POST', '/api/v1/auth/login', admin);
  return login.body.data.access_token as string;
}
