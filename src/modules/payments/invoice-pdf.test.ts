import { describe, expect, it } from 'vitest';
import { pdfText } from '../../../test/helpers/pdf.js';
import { renderInvoicePdf } from './invoice-pdf.js';

describe('invoice PDF', () => {
  it('renders a PDF with the invoice number, lines and totals', async () => {
    const pdf = await renderInvoicePdf({
      number: 'INV-000042',
      issuedAt: new Date('2026-11-21T10:00:00Z'),
      orderNumber: 'BZ-100007',
      seller: { name: 'Bazaar Demo Shop', address: ['1 Market Street', 'Springfield'] },
      customer: {
        name: 'Sam Shopper',
        email: 'sam@example.com',
        address: ['2 Elm Road', '12345 Springfield', 'US'],
      },
      lines: Array.from({ length: 40 }, (_, i) => ({
        title: `Linen shirt ${i}`,
        sku: `SHIRT-${i}`,
        quantity: 2,
        unitPrice: 2500,
        lineTotal: 5000,
      })),
      currency: 'USD',
      subtotal: 200_000,
      shippingTotal: 0,
      taxTotal: 38_000,
      total: 238_000,
    });
    expect(pdf.subarray(0, 5).toString()).toBe('%PDF-');
    expect(pdf.subarray(-6).toString()).toContain('%%EOF');
    const raw = pdf.toString('latin1');
    const text = pdfText(pdf);
    expect(text).toContain('Invoice INV-000042');
    expect(text).toContain('Sam Shopper');
    expect(text).toContain('SHIRT-39');
    expect(text).toContain('USD 2,380.00');
    // 40 lines do not fit on one A4 page.
    expect((raw.match(/\/Type \/Page\b/g) ?? []).length).toBeGreaterThan(1);
  });
});
