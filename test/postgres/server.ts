/**
 * A private PostgreSQL cluster for tests that crash and restart the server, so the shared one on 5432 is never
 * disturbed: its own data directory and port, started and stopped with Debian's (or any) initdb and pg_ctl,
 * run as the `postgres` user when the tests run as root (PostgreSQL refuses root). Stops only what it started.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../faults/harness.js';
import { waitFor } from '../redis/helpers.js';
import { pingPostgres } from './helpers.js';

/** The directory holding initdb and pg_ctl: on PATH, or Debian's /usr/lib/postgresql/<version>/bin. */
export function postgresBinaries(): string | undefined {
  const onPath = spawnSync('sh', ['-c', 'command -v pg_ctl'], { encoding: 'utf8' }).stdout.trim();
  if (onPath !== '' && existsSync(join(onPath, '..', 'initdb'))) return join(onPath, '..');
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return undefined;
  for (const version of readdirSync(root).sort((a, b) => Number(b) - Number(a))) {
    const bin = join(root, version, 'bin');
    if (existsSync(join(bin, 'initdb')) && existsSync(join(bin, 'pg_ctl'))) return bin;
  }
  return undefined;
}

const asRoot = process.getuid?.() === 0;

export class PrivatePostgres {
  readonly dir = mkdtempSync(join(tmpdir(), 'cr-pg-'));
  readonly data = join(this.dir, 'data');
  port = 0;

  constructor(readonly bin: string) {
    if (asRoot) chownSync(this.dir, Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' })), Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' })));
  }

  get url(): string {
    return `postgres://postgres@127.0.0.1:${this.port}/postgres`;
  }

  #run(tool: string, args: string[]): void {
    const command = join(this.bin, tool);
    const result = asRoot ? spawnSync('runuser', ['-u', 'postgres', '--', command, ...args], { encoding: 'utf8' }) : spawnSync(command, args, { encoding: 'utf8' });
    if (result.status !== 0) throw new Error(`${tool} failed: ${result.stdout}${result.stderr}`);
  }

  /** initdb on first start (trust auth, fsync on), then pg_ctl start on its own port; waits until it answers. */
  async start(): Promise<void> {
    this.port ||= await freePort();
    if (!existsSync(this.data)) this.#run('initdb', ['-D', this.data, '-U', 'postgres', '--auth=trust', '--no-instructions']);
    const options = `-p ${this.port} -k ${this.dir} -c listen_addresses=127.0.0.1 -c max_connections=100 -c fsync=on`;
    this.#run('pg_ctl', ['start', '-D', this.data, '-o', options, '-l', join(this.dir, 'log'), '-w', '-t', '30']);
    await waitFor(`PostgreSQL on port ${this.port}`, () => pingPostgres(this.url), 30_000, 100);
  }

  /** A crash: `pg_ctl stop -m immediate` ends every process at once, without a checkpoint; the next start recovers from the WAL. */
  crash(): void {
    this.#run('pg_ctl', ['stop', '-D', this.data, '-m', 'immediate', '-w']);
  }

  async remove(): Promise<void> {
    if (existsSync(join(this.data, 'postmaster.pid'))) {
      try {
        this.crash();
      } catch {
        // not running
      }
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}
