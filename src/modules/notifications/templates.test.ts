import { describe, expect, it } from 'vitest';
import { builtInTemplates, renderTemplate, templateNames, unknownPlaceholders } from './templates.js';

describe('e-mail templates', () => {
  it('every built-in template renders with its own sample variables and uses no unknown placeholder', () => {
    for (const name of templateNames) {
      const definition = builtInTemplates[name];
      expect(unknownPlaceholders(name, definition)).toEqual([]);
      const mail = renderTemplate(definition, definition.variables);
      expect(mail.subject).not.toContain('{{');
      expect(mail.text).not.toContain('{{');
      expect(mail.html).not.toContain('{{');
    }
  });

  it('escapes values in HTML but not in text, and keeps subjects on one line', () => {
    const mail = renderTemplate(builtInTemplates['order-shipped'], {
      ...builtInTemplates['order-shipped'].variables,
      name: '<script>alert(1)</script>',
      order_number: 'BZ-1\r\nBcc: victim@example.com',
    });
    expect(mail.html).toContain('&lt;script&gt;');
    expect(mail.html).not.toContain('<script>');
    expect(mail.text).toContain('<script>alert(1)</script>');
    expect(mail.subject).not.toMatch(/[\r\n]/);
  });

  it('keeps account links intact in text and escapes the user’s name in HTML', () => {
    const link = 'https://shop.example.com/account/verify-email#token=abc_123-x';
    const mail = renderTemplate(builtInTemplates['verify-email'], {
      name: '<script>x</script>',
      link,
      validity: '2 days',
      shop_name: 'Bazaar',
    });
    expect(mail.text).toContain(`\n\n${link}\n\n`);
    expect(mail.text).toContain('expires in 2 days');
    expect(mail.html).toContain(`href="${link}"`);
    expect(mail.html).not.toContain('<script>');
  });

  it('covers every mail Bazaar sends, and only the welcome mail is non-transactional', () => {
    expect([...templateNames].sort()).toEqual([
      'order-received',
      'order-shipped',
      'password-reset',
      'payment-receipt',
      'refund-issued',
      'verify-email',
      'welcome',
    ]);
    expect(templateNames.filter((name) => !builtInTemplates[name].transactional)).toEqual(['welcome']);
  });

  it('finds placeholders an override invents', () => {
    expect(
      unknownPlaceholders('welcome', { subject: 'Hi {{nme}}', text: '{{name}}', html: '{{ coupon }}' }),
    ).toEqual(['nme', 'coupon']);
  });
});
