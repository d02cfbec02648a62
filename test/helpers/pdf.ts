import { inflateSync } from 'node:zlib';

/** The text drawn on a PDF's pages: inflate each content stream and decode pdfkit's hex strings. */
export function pdfText(pdf: Buffer): string {
  const raw = pdf.toString('latin1');
  const parts: string[] = [];
  for (const match of raw.matchAll(/stream\n([\s\S]*?)\nendstream/g)) {
    let content: string;
    try {
      content = inflateSync(Buffer.from(match[1]!, 'latin1')).toString('latin1');
    } catch {
      continue;
    }
    for (const line of content.split('\n')) {
      const hexes = [...line.matchAll(/<([0-9a-f]+)>/gi)].map((m) =>
        Buffer.from(m[1]!, 'hex').toString('latin1'),
      );
      if (hexes.length > 0) parts.push(hexes.join(''));
    }
  }
  return parts.join('\n');
}
