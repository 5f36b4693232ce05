#!/usr/bin/env node
// The `cascade-router` command (package.json `bin`, built to dist/cli.js).
import { main } from './run.js';

void main(process.argv.slice(2), (text) => process.stdout.write(`${text}\n`), (text) => process.stderr.write(`${text}\n`)).then((code) => {
  process.exitCode = code;
});
