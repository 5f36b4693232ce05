/** An error the command line reports as one line, without a stack: bad usage, a missing file, a malformed row. */
export class CliError extends Error {
  /** 2: the command was called wrongly; 1: its input was wrong. */
  readonly exitCode: 1 | 2;

  constructor(message: string, exitCode: 1 | 2 = 1) {
    super(message);
    this.name = 'CliError';
    this.exitCode = exitCode;
  }
}

/** A malformed row of an input file: where it is, which field, what was expected and what came. */
export class RowError extends CliError {
  constructor(file: string, line: number, field: string, expected: string, got: string) {
    super(`${file}:${line}: \`${field}\`: expected ${expected}, got ${got === '' ? 'nothing' : JSON.stringify(got.length > 60 ? `${got.slice(0, 60)}…` : got)}`);
  }
}
