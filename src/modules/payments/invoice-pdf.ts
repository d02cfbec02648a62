import { formatMoney } from '../../platform/money.js';

export interface InvoiceDocument {
  number: string;
  issuedAt: Date;
  orderNumber: string;
  seller: { name: string; address: string[] };
  customer: { name: string; email: string; address: string[] };
  lines: { title: string; sku: string; quantity: number; unitPrice: number; lineTotal: number }[];
  currency: string;
  subtotal: number;
  shippingTotal: number;
  taxTotal: number;
  total: number;
}

/** Renders an A4 invoice with pdfkit's built-in Helvetica (no font files, no network). */
export async function renderInvoicePdf(invoice: InvoiceDocument): Promise<Buffer> {
  // Loaded on first use: pdfkit inflates its font data at import, a tenth of the server's start-up CPU.
  const { default: PDFDocument } = await import('pdfkit');
  return new Promise((resolve, reject) => {
    const doc = new PDFDocument({
      size: 'A4',
      margin: 50,
      info: {
        Title: `Invoice ${invoice.number}`,
        Author: invoice.seller.name,
        CreationDate: invoice.issuedAt,
      },
    });
    const chunks: Buffer[] = [];
    doc.on('data', (chunk: Buffer) => chunks.push(chunk));
    doc.on('end', () => resolve(Buffer.concat(chunks)));
    doc.on('error', reject);

    const money = (amount: number) => formatMoney(amount, invoice.currency, { grouped: true });
    doc.font('Helvetica-Bold').fontSize(20).text(invoice.seller.name);
    doc.font('Helvetica').fontSize(9).text(invoice.seller.address.join('\n'));
    doc.moveDown(1.5);
    doc.font('Helvetica-Bold').fontSize(16).text(`Invoice ${invoice.number}`);
    doc.font('Helvetica').fontSize(10);
    doc.text(`Date: ${invoice.issuedAt.toISOString().slice(0, 10)}`);
    doc.text(`Order: ${invoice.orderNumber}`);
    doc.moveDown();
    doc.font('Helvetica-Bold').text('Bill to');
    doc
      .font('Helvetica')
      .text([invoice.customer.name, invoice.customer.email, ...invoice.customer.address].join('\n'));
    doc.moveDown(1.5);

    const columns = { item: 50, qty: 330, unit: 380, total: 470 };
    const row = (y: number, item: string, qty: string, unit: string, total: string) => {
      doc.text(item, columns.item, y, { width: 270 });
      doc.text(qty, columns.qty, y, { width: 40, align: 'right' });
      doc.text(unit, columns.unit, y, { width: 80, align: 'right' });
      doc.text(total, columns.total, y, { width: 80, align: 'right' });
    };
    doc.font('Helvetica-Bold');
    row(doc.y, 'Item', 'Qty', 'Unit price', 'Amount');
    doc
      .moveTo(50, doc.y + 4)
      .lineTo(550, doc.y + 4)
      .stroke();
    doc.font('Helvetica').moveDown(0.8);
    for (const line of invoice.lines) {
      const y = doc.y;
      row(
        y,
        `${line.title}\n${line.sku}`,
        String(line.quantity),
        money(line.unitPrice),
        money(line.lineTotal),
      );
      doc.y = Math.max(doc.y, y + 26);
      if (doc.y > 720) doc.addPage();
    }
    doc.moveTo(50, doc.y).lineTo(550, doc.y).stroke().moveDown(0.5);
    const summary: [string, number][] = [
      ['Subtotal', invoice.subtotal],
      ['Shipping', invoice.shippingTotal],
      ['Tax', invoice.taxTotal],
    ];
    for (const [label, amount] of summary) row(doc.y, '', '', label, money(amount));
    doc.font('Helvetica-Bold');
    row(doc.y + 4, '', '', 'Total', money(invoice.total));
    doc.end();
  });
}
