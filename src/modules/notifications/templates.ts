/**
 * Every e-mail Bazaar sends, in one place: subject, plain text and HTML with `{{name}}`
 * placeholders. Operators override any of them (stored in `email_templates`); the built-ins
 * below are the defaults and the reference for which variables each template gets.
 */

export interface EmailTemplate {
  subject: string;
  text: string;
  html: string;
}

export interface TemplateDefinition extends EmailTemplate {
  description: string;
  /** Transactional mail is always sent; other mail respects the user's `marketing_emails` opt-in. */
  transactional: boolean;
  /** Variables the template may use, with sample values for previews. */
  variables: Record<string, string>;
}

const orderVars = {
  name: 'Sam Shopper',
  order_number: 'BZ-100042',
  order_url: 'https://shop.example.com/account/orders/BZ-100042',
  total: 'USD 84.90',
  items_text: '2 × Linen shirt (M, blue) — USD 49.90\n1 × Canvas tote — USD 29.00',
  shop_name: 'Bazaar',
};

export const builtInTemplates = {
  'verify-email': {
    description: 'Sent at sign-up and on request: a single-use link that confirms the e-mail address.',
    transactional: true,
    variables: {
      name: 'Sam Shopper',
      link: 'https://shop.example.com/account/verify-email#token=sample-token',
      validity: '2 days',
      shop_name: 'Bazaar',
    },
    subject: 'Confirm your e-mail address',
    text: 'Hello {{name}},\n\nplease confirm your e-mail address for your {{shop_name}} account by opening this link:\n\n{{link}}\n\nThe link works once and expires in {{validity}}. If you did not create an account, ignore this mail.\n',
    html: '<p>Hello {{name}},</p><p>please confirm your e-mail address for your {{shop_name}} account.</p><p><a href="{{link}}">Confirm my e-mail address</a></p><p>The link works once and expires in {{validity}}. If you did not create an account, ignore this mail.</p>',
  },
  'password-reset': {
    description: 'Sent when someone asks to reset the password: a single-use link to choose a new one.',
    transactional: true,
    variables: {
      name: 'Sam Shopper',
      link: 'https://shop.example.com/account/reset-password#token=sample-token',
      validity: '1 hour',
      shop_name: 'Bazaar',
    },
    subject: 'Reset your password',
    text: 'Hello {{name}},\n\nsomeone (hopefully you) asked to reset the password of your {{shop_name}} account. To choose a new password, open:\n\n{{link}}\n\nThe link works once and expires in {{validity}}. If you did not ask for this, ignore this mail: your password stays unchanged.\n',
    html: '<p>Hello {{name}},</p><p>someone (hopefully you) asked to reset the password of your {{shop_name}} account.</p><p><a href="{{link}}">Choose a new password</a></p><p>The link works once and expires in {{validity}}. If you did not ask for this, ignore this mail: your password stays unchanged.</p>',
  },
  welcome: {
    description: 'Sent after sign-up.',
    transactional: false,
    variables: { name: 'Sam Shopper', shop_name: 'Bazaar', shop_url: 'https://shop.example.com' },
    subject: 'Welcome to {{shop_name}}',
    text: 'Hello {{name}},\n\nwelcome to {{shop_name}}! Your account is ready: {{shop_url}}\n',
    html: '<p>Hello {{name}},</p><p>welcome to {{shop_name}}! Your account is ready: <a href="{{shop_url}}">{{shop_url}}</a></p>',
  },
  'order-received': {
    description: 'Sent when an order is placed (before payment).',
    transactional: true,
    variables: orderVars,
    subject: 'We received your order {{order_number}}',
    text: 'Hello {{name}},\n\nthank you for your order {{order_number}}.\n\n{{items_text}}\n\nTotal: {{total}}\n\nWe will let you know once your payment is confirmed.\n',
    html: '<p>Hello {{name}},</p><p>thank you for your order <strong>{{order_number}}</strong>.</p><pre>{{items_text}}</pre><p>Total: <strong>{{total}}</strong></p><p>We will let you know once your payment is confirmed.</p>',
  },
  'payment-receipt': {
    description: 'Sent when a payment succeeds, with the PDF invoice attached.',
    transactional: true,
    variables: { ...orderVars, invoice_number: 'INV-000042' },
    subject: 'Receipt for your order {{order_number}}',
    text: 'Hello {{name}},\n\nwe received your payment of {{total}} for order {{order_number}}. Your invoice {{invoice_number}} is attached.\n\n{{items_text}}\n',
    html: '<p>Hello {{name}},</p><p>we received your payment of <strong>{{total}}</strong> for order {{order_number}}. Your invoice {{invoice_number}} is attached.</p><pre>{{items_text}}</pre>',
  },
  'order-shipped': {
    description: 'Sent when an order ships, with tracking.',
    transactional: true,
    variables: { ...orderVars, carrier: 'DHL', tracking_number: '00340434161094042557' },
    subject: 'Your order {{order_number}} is on its way',
    text: 'Hello {{name}},\n\nyour order {{order_number}} has shipped with {{carrier}}. Tracking number: {{tracking_number}}\n',
    html: '<p>Hello {{name}},</p><p>your order {{order_number}} has shipped with {{carrier}}.</p><p>Tracking number: <strong>{{tracking_number}}</strong></p>',
  },
  'refund-issued': {
    description: 'Sent when a refund succeeds.',
    transactional: true,
    variables: { ...orderVars, refund_amount: 'USD 20.00', reason: 'Item returned' },
    subject: 'Refund for your order {{order_number}}',
    text: 'Hello {{name}},\n\nwe refunded {{refund_amount}} for your order {{order_number}} ({{reason}}). It may take a few days to appear on your statement.\n',
    html: '<p>Hello {{name}},</p><p>we refunded <strong>{{refund_amount}}</strong> for your order {{order_number}} ({{reason}}). It may take a few days to appear on your statement.</p>',
  },
} satisfies Record<string, TemplateDefinition>;

export type TemplateName = keyof typeof builtInTemplates;
export const templateNames = Object.keys(builtInTemplates) as TemplateName[];

export function isTemplateName(name: string): name is TemplateName {
  return Object.hasOwn(builtInTemplates, name);
}

/** The variables a template gets: every one it declares, as text. */
export type TemplateVariables<N extends TemplateName> = Record<
  keyof (typeof builtInTemplates)[N]['variables'],
  string
>;

const PLACEHOLDER = /\{\{\s*([a-z_]+)\s*\}\}/g;

/** Placeholders a template uses that are not among its variables: an override with a typo is refused. */
export function unknownPlaceholders(name: TemplateName, template: Partial<EmailTemplate>): string[] {
  const known = new Set(Object.keys(builtInTemplates[name].variables));
  const used = [template.subject, template.text, template.html].flatMap((part) =>
    [...(part ?? '').matchAll(PLACEHOLDER)].map((m) => m[1]!),
  );
  return [...new Set(used.filter((v) => !known.has(v)))];
}

/** Fills a template. Values are HTML-escaped in the HTML part; subjects lose line breaks. */
export function renderTemplate(template: EmailTemplate, variables: Record<string, string>): EmailTemplate {
  const fill = (part: string, escape: (s: string) => string) =>
    part.replace(PLACEHOLDER, (_, key: string) => escape(variables[key] ?? ''));
  return {
    subject: fill(template.subject, (s) => s.replace(/[\r\n]+/g, ' ')),
    text: fill(template.text, (s) => s),
    html: layout(fill(template.html, escapeHtml)),
  };
}

export function escapeHtml(value: string): string {
  return value.replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!,
  );
}

function layout(body: string): string {
  return `<!doctype html><html><body style="font-family:system-ui,sans-serif;line-height:1.5;color:#1f2328;max-width:560px;margin:0 auto;padding:24px">${body}</body></html>`;
}
