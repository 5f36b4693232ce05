// The command line: `simulate` on the sample history (docs/examples/cli/history.csv) and `plan` on the sample
// config, in-process and as a real process; malformed rows; the HTML report opened in headless Chromium.
import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../src/cli/run.js';
import type { SimulateReport } from '../src/cli/simulate/report.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const examples = join(root, 'docs/examples/cli');
const history = join(examples, 'history.csv');

async function cli(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await main(args, (text) => (out += `${text}\n`), (text) => (err += `${text}\n`));
  return { code, out, err };
}

/** The history's own figures, computed here from the CSV with nothing of the library: the oracle for the replay. */
function historyFigures(csv: string): { messages: number; delivered: number; spendMicros: number } {
  const lines = csv.trim().split('\n').slice(1).map((line) => line.split(','));
  const keys = new Set(lines.map((f) => f[0]));
  const delivered = new Set(lines.filter((f) => f[5] === 'delivered' || f[5] === 'read').map((f) => f[0]));
  const micros = (price: string) => {
    const [whole, fraction = ''] = price.split('.');
    return Number(whole) * 1_000_000 + Number(fraction.padEnd(6, '0'));
  };
  return { messages: keys.size, delivered: delivered.size, spendMicros: lines.reduce((sum, f) => sum + micros(f[7]!), 0) };
}

const toMicros = (text: string) => Math.round(Number(text) * 1_000_000);

let work: string;
let report: SimulateReport;
let simulateOut: string;

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'cascade-router-cli-'));
  const result = await cli('simulate', history, '--html', join(work, 'report.html'), '--json', join(work, 'report.json'));
  expect(result.err).toBe('');
  expect(result.code).toBe(0);
  simulateOut = result.out;
  report = JSON.parse(readFileSync(join(work, 'report.json'), 'utf8')) as SimulateReport;
}, 120_000);

afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('cascade-router simulate on the sample history', () => {
  it('the sample history is what docs/examples/cli/make-history.ts writes (seeded)', () => {
    const before = readFileSync(history, 'utf8');
    const tsx = createRequire(import.meta.url).resolve('tsx');
    const copy = join(work, 'make-history.ts');
    writeFileSync(copy, readFileSync(join(examples, 'make-history.ts'), 'utf8'));
    execFileSync(process.execPath, ['--import', tsx, copy], { cwd: work, timeout: 60_000 });
    expect(readFileSync(join(work, 'history.csv'), 'utf8')).toBe(before);
  });

  it('"as it happened" matches the history counted independently from the CSV', () => {
    const figures = historyFigures(readFileSync(history, 'utf8'));
    const happened = report.rows.find((row) => row.strategy === 'history')!;
    expect([happened.messages, happened.delivered, toMicros(happened.spend)]).toEqual([figures.messages, figures.delivered, figures.spendMicros]);
  });

  it('replaying your current order through the router reproduces the history exactly (spend, deliveries, double spend, p95)', () => {
    const happened = report.rows.find((row) => row.strategy === 'history')!;
    const current = report.rows.find((row) => row.strategy === 'current')!;
    expect([current.delivered, current.spend, current.doubleSpend, current.p95Ms]).toEqual([happened.delivered, happened.spend, happened.doubleSpend, happened.p95Ms]);
    expect(report.currentOrder).toEqual(['email', 'push', 'viber', 'sms']);
  });

  it('SMS only sends on SMS alone, once per message, and never double spends', () => {
    const sms = report.rows.find((row) => row.strategy === 'sms-only')!;
    expect(Object.keys(sms.channels)).toEqual(['sms']);
    expect(sms.channels['sms']!.sent).toBe(report.messages);
    expect(sms.doubleSpend).toBe('0.00');
  });

  it('prints the table with every strategy, and the saving against the current order from the exact spends', () => {
    for (const label of ['as it happened', 'SMS only', 'your current order', 'default plan', 'learning']) expect(simulateOut).toContain(label);
    const current = toMicros(report.rows.find((row) => row.strategy === 'current')!.spend);
    for (const row of report.rows.filter((r) => r.saving !== null)) expect(row.saving).toBeCloseTo(1 - toMicros(row.spend) / current, 12);
  });

  it('reads the same history as JSONL to the same figures', async () => {
    const csv = readFileSync(history, 'utf8').trim().split('\n');
    const names = csv[0]!.split(',');
    const jsonl = csv.slice(1).map((line) => JSON.stringify(Object.fromEntries(line.split(',').map((value, i) => [names[i], value])))).join('\n');
    writeFileSync(join(work, 'history.jsonl'), jsonl);
    const result = await cli('simulate', join(work, 'history.jsonl'), '--html', join(work, 'j.html'), '--json', join(work, 'j.json'));
    expect(result.code).toBe(0);
    const again = JSON.parse(readFileSync(join(work, 'j.json'), 'utf8')) as SimulateReport;
    expect(again.rows.map((row) => [row.strategy, row.spend, row.delivered])).toEqual(report.rows.map((row) => [row.strategy, row.spend, row.delivered]));
  });
});

describe('malformed history rows: the line, the field, what was expected; never a stack trace', () => {
  const header = 'message_key,recipient,category,channel,sent_at,outcome,receipt_at,price';
  const good = 'k1,r1,transactional,sms,2026-01-08T10:00:00Z,delivered,2026-01-08T10:00:05Z,0.05';
  const cases: [string, string, RegExp][] = [
    ['a time without a zone', 'k2,r1,transactional,sms,2026-01-08 10:00,delivered,2026-01-08T10:00:05Z,0.05', /bad\.csv:3: `sent_at`: expected an ISO 8601 time with a zone .*got "2026-01-08 10:00"/],
    ['an unknown outcome', 'k2,r1,transactional,sms,2026-01-08T10:00:00Z,bounced,,0.05', /bad\.csv:3: `outcome`: expected one of delivered, read, failed, none, got "bounced"/],
    ['a price finer than a millionth', 'k2,r1,transactional,sms,2026-01-08T10:00:00Z,delivered,2026-01-08T10:00:05Z,0.0000001', /bad\.csv:3: `price`: expected a non-negative decimal price/],
    ['a receipt before the send', 'k2,r1,transactional,sms,2026-01-08T10:00:00Z,delivered,2026-01-08T09:00:00Z,0.05', /bad\.csv:3: `receipt_at`: expected a time not before sent_at/],
    ['a missing field', 'k2,r1,transactional,sms,2026-01-08T10:00:00Z,delivered,2026-01-08T10:00:05Z', /bad\.csv:3: `row`: expected 8 fields as in the header, got "7 fields"/],
    ['an empty recipient', 'k2,,transactional,sms,2026-01-08T10:00:00Z,none,,0.05', /bad\.csv:3: `recipient`: expected the recipient's id, got nothing/],
  ];
  for (const [what, row, message] of cases) {
    it(`${what}`, async () => {
      const file = join(work, 'bad.csv');
      writeFileSync(file, `${header}\n${good}\n${row}\n`);
      const result = await cli('simulate', file, '--html', join(work, 'bad.html'));
      expect(result.code).toBe(1);
      expect(result.err).toMatch(message);
      expect(result.err).not.toMatch(/\n\s+at /);
    });
  }

  it('a quoted field that never closes names the line it opened on; a missing column is named', async () => {
    const file = join(work, 'bad.csv');
    writeFileSync(file, `${header}\n${good}\n"k3,r1\n`);
    expect((await cli('simulate', file)).err).toMatch(/bad\.csv:3: a quoted field is not closed/);
    writeFileSync(file, 'message_key,recipient\nk1,r1\n');
    expect((await cli('simulate', file)).err).toMatch(/bad\.csv:1: the header has no `category` column/);
  });

  it('as a real process: exit code 1 and one line on stderr, no stack; a missing file; bad usage exits 2', async () => {
    const file = join(work, 'bad.csv');
    writeFileSync(file, `${header}\n${good}\nk2,r1,transactional,sms,yesterday,none,,0.05\n`);
    const tsx = createRequire(import.meta.url).resolve('tsx');
    const run = (...args: string[]) =>
      new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
        execFile(process.execPath, ['--import', tsx, join(root, 'src/cli/main.ts'), ...args], { cwd: work, timeout: 60_000 }, (error, stdout, stderr) =>
          resolve({ code: error === null ? 0 : (error.code as number), stdout, stderr }),
        );
      });
    const bad = await run('simulate', file);
    expect([bad.code, bad.stderr.trim().split('\n').length]).toEqual([1, 1]);
    expect(bad.stderr).toMatch(/^cascade-router: bad\.csv:3: `sent_at`/);
    expect((await run('simulate', join(work, 'nope.csv'))).stderr).toMatch(/nope\.csv: no such file/);
    expect((await run('simulate', '--seed', 'x', history)).code).toBe(2);
    expect((await run('frobnicate')).code).toBe(2);
  });
});

describe('cascade-router plan on the sample config', () => {
  it('prints the steps, waits and projected cost, and skips the channel the recipient has no address for', async () => {
    const result = await cli('plan', '--config', join(examples, 'channels.json'), '--message', join(examples, 'message.json'), '--recipient', join(examples, 'recipient.json'), '--at', '2026-01-08T10:00:00Z');
    expect(result.err).toBe('');
    expect(result.code).toBe(0);
    const steps = result.out.split('\n').filter((line) => /^\d+\s/.test(line)).map((line) => line.split(/\s{2,}/));
    expect(steps.map((cells) => cells[1])).toEqual(['push', 'email', 'sms']);
    // Waits from the config: push 2m, email 30m; SMS starts after both (32m) and costs two UCS-2 parts at 0.03.
    expect(steps.map((cells) => [cells[3], cells[4], cells[5]])).toEqual([
      ['0 ms', '2m 00s', '0.00'],
      ['2m 00s', '30m 00s', '0.0008'],
      ['32m 00s', '5m 00s', '0.06'],
    ]);
    expect(result.out).toMatch(/viber: no-address/);
    expect(result.out).toContain('Projected cost: 0.00 if the first step delivers, at most 0.0608 if every step is billed.');
  });

  it('takes a JavaScript module as the config: its cost functions price the plan, its send functions are never called', async () => {
    const file = join(work, 'router.config.mjs');
    writeFileSync(
      file,
      `export default {
        phoneNumbers: { defaultCountry: 'UA' },
        channels: {
          email: { kind: 'email', cost: () => '0.001', send: async () => { throw new Error('sent!'); }, confirm: { timeout: '10m' } },
          sms: { kind: 'sms', cost: (ctx) => (ctx.address.startsWith('+380') ? '0.03' : '0.09'), send: async () => { throw new Error('sent!'); } },
        },
      };\n`,
    );
    const recipient = JSON.stringify({ id: 'r', addresses: { email: 'a@example.com', sms: '050 123 4567' } });
    const result = await cli('plan', '--config', file, '--message', join(examples, 'message.json'), '--recipient', recipient, '--at', '2026-01-08T10:00:00Z');
    expect(result.err).toBe('');
    // The national number was read in UA and priced by its E.164 form.
    expect(result.out).toMatch(/^2\s+sms\s+\+380501234567\s+10m 00s\s+10m 00s\s+0\.03\s+when sent$/m);
  });

  it('--json prints the plan itself; a bad config names the field and the code', async () => {
    const json = await cli('plan', '--json', '--config', join(examples, 'channels.json'), '--message', join(examples, 'message.json'), '--recipient', join(examples, 'recipient.json'), '--at', '2026-01-08T10:00:00Z');
    expect((JSON.parse(json.out) as { maxSpendMicros: number }).maxSpendMicros).toBe(60_800);
    const file = join(work, 'bad-config.json');
    writeFileSync(file, JSON.stringify({ channels: { sms: { kind: 'sms', confirm: { timeout: '2 min' } } } }));
    const bad = await cli('plan', '--config', file, '--message', join(examples, 'message.json'), '--recipient', join(examples, 'recipient.json'));
    expect(bad.code).toBe(1);
    expect(bad.err).toMatch(/INVALID_CONFIG: Expected `channels\.sms\.confirm\.timeout` to be a non-negative duration/);
  });
});

const chromium = ['chromium', 'chromium-browser', 'google-chrome'].find((name) => {
  try {
    execFileSync('which', [name], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
});
if (chromium === undefined && process.env['CI'] === undefined) console.warn('cli.test.ts: no chromium on PATH: the report rendering test is skipped (.ci/run installs it)');

describe.skipIf(chromium === undefined && process.env['CI'] === undefined)('the HTML report in headless Chromium', () => {
  it('draws a bar per strategy in both bar charts with the JSON\'s values, a curve per strategy that delivered, and its table matches the JSON', () => {
    const dom = execFileSync(chromium ?? 'chromium', ['--headless', '--no-sandbox', '--disable-gpu', '--virtual-time-budget=5000', '--dump-dom', `file://${join(work, 'report.html')}`], {
      encoding: 'utf8',
      timeout: 60_000,
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    expect(dom).toMatch(/<body[^>]*data-rendered="true"/);
    const attr = (tag: string, name: string) => [...tag.matchAll(new RegExp(`${name}="([^"]*)"`, 'g'))].map((m) => m[1]!);
    const barsIn = (id: string) => {
      const section = dom.slice(dom.indexOf(`<div id="${id}">`), dom.indexOf('</div>', dom.indexOf(`<div id="${id}">`)));
      return [...section.matchAll(/<rect [^>]*class="bar"[^>]*>/g)].map((m) => ({ label: attr(m[0], 'data-label')[0], value: Number(attr(m[0], 'data-value')[0]), width: Number(attr(m[0], 'width')[0]) }));
    };
    const spend = barsIn('spend');
    expect(spend.map((bar) => [bar.label, bar.value])).toEqual(report.rows.map((row) => [row.label, Number(row.spend)]));
    // Bar lengths are proportional to the values: the longest is the largest.
    const widest = spend.reduce((a, b) => (b.width > a.width ? b : a));
    for (const bar of spend) expect(bar.width).toBeCloseTo((widest.width * bar.value) / widest.value, 6);
    expect(barsIn('delivered').map((bar) => bar.value)).toEqual(report.rows.map((row) => row.delivered / row.messages));
    expect([...dom.matchAll(/<polyline [^>]*class="curve"/g)]).toHaveLength(report.rows.filter((row) => row.times.length > 0).length);
    const tableRows = [...dom.matchAll(/<tr data-strategy="([^"]+)">(.*?)<\/tr>/gs)].map((m) => [m[1], ...[...m[2]!.matchAll(/<td>(.*?)<\/td>/g)].map((c) => c[1])]);
    expect(tableRows.map((cells) => cells[0])).toEqual(report.rows.map((row) => row.strategy));
    // The table's figures, from the JSON: delivered share, spend, p95 shown, saving.
    for (const [i, row] of report.rows.entries()) {
      const cells = tableRows[i]!;
      expect(cells[2]).toBe(`${((100 * row.delivered) / row.messages).toFixed(1)}%`);
      expect(cells[3]).toBe(row.spend);
      expect(cells[6]).toBe(row.saving === null ? '–' : `${(row.saving * 100).toFixed(1)}%`);
    }
  }, 90_000);
});
