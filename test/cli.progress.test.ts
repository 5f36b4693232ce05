import { afterEach, describe, expect, it } from 'vitest';
import { progressBar } from '../src/cli/progress.js';

/** A stream that records what is written, a TTY or not. */
function stream(isTTY: boolean) {
  const written: string[] = [];
  return { written, stream: { isTTY, columns: 120, write: (text: string) => (written.push(text), true) } as unknown as NodeJS.WriteStream };
}

const ci = process.env['CI'];
afterEach(() => {
  if (ci === undefined) delete process.env['CI'];
  else process.env['CI'] = ci;
});

describe('the progress bar', () => {
  it('on a terminal: the stage, the share done, the time elapsed and the time left from the rate so far', () => {
    delete process.env['CI'];
    const { written, stream: out } = stream(true);
    let now = 0;
    const bar = progressBar(100, out, () => now);
    bar.stage('replaying SMS only');
    now = 10_000;
    bar.tick(25);
    // 25% in 10 s: 30 s left.
    expect(written.at(-1)).toMatch(/replaying SMS only\s+\[#{6}\.{18}\]\s+25%\s+10s elapsed, ~30s left/);
    now = 10_050;
    bar.tick(1);
    expect(written).toHaveLength(2); // redrawn at most ten times a second
    bar.done();
    expect(written.at(-1)).toBe('\r\u001b[K');
  });

  it('writes nothing when the output is not a terminal, or in CI', () => {
    delete process.env['CI'];
    const piped = stream(false);
    const bar = progressBar(10, piped.stream, () => 0);
    bar.stage('x');
    bar.tick(5);
    bar.done();
    expect(piped.written).toEqual([]);
    process.env['CI'] = 'true';
    const inCi = stream(true);
    const ciBar = progressBar(10, inCi.stream, () => 0);
    ciBar.stage('x');
    ciBar.tick(5);
    ciBar.done();
    expect(inCi.written).toEqual([]);
  });
});
