/** One record of a CSV file; `row` counts records from 1, the header being row 1. */
export interface CsvRecord {
  row: number;
  values: string[];
}

export class CsvSyntaxError extends Error {
  constructor(
    readonly row: number,
    message: string,
  ) {
    super(message);
  }
}

/**
 * RFC 4180 CSV: comma-separated, fields optionally in double quotes (a quote inside doubled),
 * quoted fields may span lines; CRLF or LF line ends; a UTF-8 BOM and blank lines are ignored.
 */
export function parseCsv(text: string): CsvRecord[] {
  const records: CsvRecord[] = [];
  let values: string[] = [];
  let field = '';
  let quoted = false;
  let fieldStarted = false;
  let afterQuote = false;
  let row = 1;
  let i = text.charCodeAt(0) === 0xfeff ? 1 : 0;
  const endRecord = () => {
    values.push(field);
    if (values.length > 1 || values[0] !== '') records.push({ row, values });
    row += 1;
    values = [];
    field = '';
    fieldStarted = false;
    afterQuote = false;
  };
  for (; i < text.length; i += 1) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"') {
        if (text[i + 1] === '"') {
          field += '"';
          i += 1;
        } else {
          quoted = false;
          afterQuote = true;
        }
      } else field += c;
      continue;
    }
    if (c === '"') {
      if (fieldStarted) throw new CsvSyntaxError(row, 'a quote inside an unquoted field');
      quoted = true;
      fieldStarted = true;
    } else if (c === ',') {
      values.push(field);
      field = '';
      fieldStarted = false;
      afterQuote = false;
    } else if (c === '\n' || c === '\r') {
      if (c === '\r' && text[i + 1] === '\n') i += 1;
      endRecord();
    } else {
      if (afterQuote) throw new CsvSyntaxError(row, 'text after a closing quote');
      field += c;
      fieldStarted = true;
    }
  }
  if (quoted) throw new CsvSyntaxError(row, 'a quoted field is not closed');
  if (field !== '' || values.length > 0) endRecord();
  return records;
}
