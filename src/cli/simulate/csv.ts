/** One CSV record with the line it starts on (1-based), for error messages. */
export interface CsvRecord {
  readonly line: number;
  readonly fields: readonly string[];
}

/**
 * RFC 4180 CSV: fields separated by commas, records by CRLF or LF, fields in double quotes may hold commas,
 * line breaks and doubled quotes. An unterminated quote reports the line it opened on.
 */
export function* parseCsv(text: string, onUnterminated: (line: number) => never): Generator<CsvRecord> {
  let line = 1;
  let start = 1;
  let fields: string[] = [];
  let field = '';
  let quoted = false;
  let quoteLine = 0;
  let i = text.charCodeAt(0) === 0xfeff ? 1 : 0;
  const end = (): CsvRecord | undefined => {
    fields.push(field);
    const record = fields.length === 1 && fields[0] === '' ? undefined : { line: start, fields };
    fields = [];
    field = '';
    return record;
  };
  for (; i < text.length; i++) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"') {
        if (text[i + 1] === '"') (field += '"'), i++;
        else quoted = false;
      } else {
        if (c === '\n') line++;
        field += c;
      }
    } else if (c === '"' && field === '') {
      quoted = true;
      quoteLine = line;
    } else if (c === ',') {
      fields.push(field);
      field = '';
    } else if (c === '\n' || c === '\r') {
      if (c === '\r' && text[i + 1] === '\n') i++;
      const record = end();
      if (record) yield record;
      line++;
      start = line;
    } else field += c;
  }
  if (quoted) onUnterminated(quoteLine);
  const record = end();
  if (record) yield record;
}
