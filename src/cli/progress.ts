/** What a long command reports its progress to. */
export interface Progress {
  tick(count?: number): void;
  stage(name: string): void;
  done(): void;
}

const NONE: Progress = { tick() {}, stage() {}, done() {} };

/**
 * A progress bar with the elapsed time and an ETA, redrawn at most ten times a second on `stream`, only when
 * it is a terminal and not in CI: piped output and logs get nothing.
 */
export function progressBar(total: number, stream: NodeJS.WriteStream = process.stderr, now: () => number = () => performance.now()): Progress {
  if (stream.isTTY !== true || process.env['CI'] !== undefined || total <= 0) return NONE;
  const start = now();
  let count = 0;
  let stage = '';
  let drawnAt = -Infinity;
  const draw = (force: boolean) => {
    const t = now();
    if (!force && t - drawnAt < 100) return;
    drawnAt = t;
    const share = Math.min(1, count / total);
    const width = 24;
    const filled = Math.round(share * width);
    const elapsed = (t - start) / 1000;
    const eta = share > 0 ? (elapsed / share) * (1 - share) : undefined;
    const text = `${stage.padEnd(20)} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${(share * 100).toFixed(0).padStart(3)}%  ${elapsed.toFixed(0)}s elapsed${eta === undefined ? '' : `, ~${Math.ceil(eta)}s left`}`;
    stream.write(`\r${text.slice(0, (stream.columns ?? 100) - 1)}\u001b[K`);
  };
  return {
    tick(n = 1) {
      count += n;
      draw(false);
    },
    stage(name) {
      stage = name;
      draw(true);
    },
    done() {
      stream.write('\r\u001b[K');
    },
  };
}
