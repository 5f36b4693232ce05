import { basename } from 'node:path';
import { toMicros, type Micros } from '../../core/money.js';
import { CliError, RowError } from '../errors.js';
import { parseCsv } from './csv.js';

/** What became of one attempt in the user's history. `none`: no receipt came. */
export type HistoryOutcome = 'delivered' | 'read' | 'failed' | 'none';

/** One attempt: a message sent on one channel, and what came back. */
export interface HistoryRow {
  readonly line: number;
  readonly messageKey: string;
  readonly recipient: string;
  readonly category: string;
  readonly channel: string;
  readonly sentAt: number;
  readonly outcome: HistoryOutcome;
  /** When the receipt came (delivered, read, failed); undefined for `none`. */
  readonly receiptAt: number | undefined;
  readonly priceMicros: Micros;
}

/** The columns, by their names in a CSV header or a JSONL object; camelCase names are accepted too. */
export const COLUMNS = ['message_key', 'recipient', 'category', 'channel', 'sent_at', 'outcome', 'receipt_at', 'price'] as const;
type Column = (typeof COLUMNS)[number];

const camel = (name: string) => name.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());
const OUTCOMES = new Set<string>(['delivered', 'read', 'failed', 'none']);
const TIME = /^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:?\d{2})$/;

/** A time: ISO 8601 with a zone (`2026-01-08T10:00:00Z`, `+02:00`), or Unix milliseconds. */
function parseTime(text: string): number | undefined {
  if (/^\d{10,13}$/.test(text)) return Number(text);
  if (!TIME.test(text)) return undefined;
  const ms = Date.parse(text.replace(' ', 'T'));
  return Number.isFinite(ms) ? ms : undefined;
}

/** Reads one row from its fields by column name, checking each; a malformed one is a RowError naming line and field. */
function toRow(file: string, line: number, get: (column: Column) => string | undefined): HistoryRow {
  const need = (column: Column, expected: string): string => {
    const value = get(column)?.trim() ?? '';
    if (value === '') throw new RowError(file, line, column, expected, '');
    return value;
  };
  const messageKey = need('message_key', 'the message\'s idempotency key');
  const recipient = need('recipient', 'the recipient\'s id');
  const category = need('category', 'a message category such as transactional or marketing');
  const channel = need('channel', 'a channel name such as push, email or sms');
  const sentText = need('sent_at', 'an ISO 8601 time with a zone (2026-01-08T10:00:00Z) or Unix milliseconds');
  const sentAt = parseTime(sentText);
  if (sentAt === undefined) throw new RowError(file, line, 'sent_at', 'an ISO 8601 time with a zone (2026-01-08T10:00:00Z) or Unix milliseconds', sentText);
  const outcome = (get('outcome')?.trim() ?? '').toLowerCase();
  if (!OUTCOMES.has(outcome)) throw new RowError(file, line, 'outcome', 'one of delivered, read, failed, none', get('outcome') ?? '');
  const receiptText = get('receipt_at')?.trim() ?? '';
  let receiptAt: number | undefined;
  if (outcome === 'none') {
    if (receiptText !== '') throw new RowError(file, line, 'receipt_at', 'nothing when the outcome is none (no receipt came)', receiptText);
  } else if (receiptText === '' && outcome === 'failed') {
    receiptAt = sentAt;
  } else {
    receiptAt = parseTime(receiptText);
    if (receiptAt === undefined) throw new RowError(file, line, 'receipt_at', `the time the ${outcome} receipt came, as an ISO 8601 time with a zone or Unix milliseconds`, receiptText);
    if (receiptAt < sentAt) throw new RowError(file, line, 'receipt_at', `a time not before sent_at (${new Date(sentAt).toISOString()})`, receiptText);
  }
  const priceText = need('price', 'a decimal price such as 0.05 (0 for free channels)');
  let priceMicros: Micros;
  try {
    priceMicros = toMicros(priceText, 'price');
  } catch {
    throw new RowError(file, line, 'price', 'a non-negative decimal price with at most 6 decimal places, such as 0.05', priceText);
  }
  return { line, messageKey, recipient, category, channel, sentAt, outcome: outcome as HistoryOutcome, receiptAt, priceMicros };
}

/** Parses a history file's text: CSV with a header row, or JSONL (one object a line), by extension or content. */
export function parseHistory(path: string, text: string): HistoryRow[] {
  const file = basename(path);
  const jsonl = /\.jsonl$|\.ndjson$/i.test(path) || (!/\.csv$/i.test(path) && text.trimStart().startsWith('{'));
  return jsonl ? parseJsonl(file, text) : parseCsvHistory(file, text);
}

function parseCsvHistory(file: string, text: string): HistoryRow[] {
  const records = parseCsv(text, (line) => {
    throw new CliError(`${file}:${line}: a quoted field is not closed`);
  });
  const header = records.next();
  if (header.done === true) throw new CliError(`${file}: the file is empty: expected a header row (${COLUMNS.join(',')}) and rows`);
  const names = header.value.fields.map((name) => name.trim());
  const index = new Map<Column, number>();
  for (const column of COLUMNS) {
    const at = names.findIndex((name) => name === column || name === camel(column));
    if (at === -1) throw new CliError(`${file}:${header.value.line}: the header has no \`${column}\` column (expected ${COLUMNS.join(',')})`);
    index.set(column, at);
  }
  const rows: HistoryRow[] = [];
  for (const record of records) {
    if (record.fields.length !== names.length) {
      throw new RowError(file, record.line, 'row', `${names.length} fields as in the header`, `${record.fields.length} fields`);
    }
    rows.push(toRow(file, record.line, (column) => record.fields[index.get(column)!]));
  }
  return rows;
}

function parseJsonl(file: string, text: string): HistoryRow[] {
  const rows: HistoryRow[] = [];
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const source = lines[i]!.trim();
    if (source === '') continue;
    let value: unknown;
    try {
      value = JSON.parse(source);
    } catch {
      throw new RowError(file, i + 1, 'line', 'a JSON object', source);
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new RowError(file, i + 1, 'line', 'a JSON object', source);
    const record = value as Record<string, unknown>;
    rows.push(
      toRow(file, i + 1, (column) => {
        const field = Object.hasOwn(record, column) ? record[column] : Object.hasOwn(record, camel(column)) ? record[camel(column)] : undefined;
        return field === undefined || field === null ? undefined : typeof field === 'string' || typeof field === 'number' ? String(field) : JSON.stringify(field);
      }),
    );
  }
  if (rows.length === 0) throw new CliError(`${file}: no rows: expected one JSON object a line with ${COLUMNS.join(', ')}`);
  return rows;
}
