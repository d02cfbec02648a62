import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { withDiagram } from '../scripts/er-diagram.js';

describe('docs/system-design.md', () => {
  it('carries the ER diagram of the current schema', () => {
    const doc = readFileSync('docs/system-design.md', 'utf8');
    expect(doc).toBe(withDiagram(doc));
    expect(doc).toContain('  users {');
    expect(doc).toContain('orders ||--o{ order_items');
  });

  it('links only to ADRs that exist', () => {
    const doc = readFileSync('docs/system-design.md', 'utf8');
    for (const [, file] of doc.matchAll(/\]\((adr\/[^)]+)\)/g)) {
      expect(() => readFileSync(`docs/${file}`), file).not.toThrow();
    }
  });
});
