// The registry these machines reach serves only Linux builds of platform packages, so `npm install`
// here leaves other platforms' optional packages out of package-lock.json and `npm ci` then refuses
// the lock (npm/cli#4828). This adds the missing entries with their os/cpu, so npm skips them on
// platforms they are not for. Run `node .ci/fix-lock.mjs` after any `npm install` that changes the lock.
import { readFileSync, writeFileSync } from 'node:fs';

const OS = ['android', 'darwin', 'freebsd', 'linux', 'netbsd', 'openbsd', 'openharmony', 'sunos', 'win32', 'aix'];
const CPU = ['arm64', 'arm', 'x64', 'ia32', 'loong64', 'riscv64', 'ppc64', 's390x', 'mips64el', 'ppc'];

const lock = JSON.parse(readFileSync('package-lock.json', 'utf8'));
let added = 0;
for (const [path, entry] of Object.entries(lock.packages)) {
  for (const [name, range] of Object.entries(entry.optionalDependencies ?? {})) {
    const base = path === '' ? '' : `${path}/`;
    if (lock.packages[`${base}node_modules/${name}`] || lock.packages[`node_modules/${name}`]) continue;
    const parts = name.split('/').pop().split('-');
    const os = parts.find((part) => OS.includes(part)) ?? (name === 'fsevents' ? 'darwin' : undefined);
    const cpu = parts.find((part) => CPU.includes(part));
    const version = String(range).replace(/^[~^]/, '');
    lock.packages[`node_modules/${name}`] = {
      version,
      dev: entry.dev ?? undefined,
      optional: true,
      ...(os ? { os: [os] } : {}),
      ...(cpu ? { cpu: [cpu] } : {}),
    };
    added++;
  }
}
writeFileSync('package-lock.json', `${JSON.stringify(lock, null, 2)}\n`);
console.log(`fix-lock: added ${added} platform entries`);
