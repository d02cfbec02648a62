import { describe, expect, it } from 'vitest';
import { CsvSyntaxError, parseCsv } from './csv.js';

describe('parseCsv', () => {
  it('reads quoted fields with commas, doubled quotes and line breaks; CRLF and LF; skips blank lines', () => {
    const text = '\uFEFFa,b,c\r\n1,"x, y","say ""hi"""\n\n2,"two\nlines",\n';
    expect(parseCsv(text)).toEqual([
      { row: 1, values: ['a', 'b', 'c'] },
      { row: 2, values: ['1', 'x, y', 'say "hi"'] },
      { row: 4, values: ['2', 'two\nlines', ''] },
    ]);
  });

  it('reads a last line without a line break', () => {
    expect(parseCsv('a,b\n1,2')).toEqual([
      { row: 1, values: ['a', 'b'] },
      { row: 2, values: ['1', '2'] },
    ]);
  });

  it('rejects broken quoting with the row it is on', () => {
    expect(() => parseCsv('a\n"open')).toThrow(CsvSyntaxError);
    expect(() => parseCsv('a\nx"y')).toThrow(/quote inside an unquoted field/);
    expect(() => parseCsv('a\n"x"y')).toThrow(/text after a closing quote/);
    const error = (() => {
      try {
        return parseCsv('a\nb\n"x"y');
      } catch (e) {
        return e;
      }
    })();
    expect(error).toMatchObject({ row: 3 });
  });
});
