#!/usr/bin/env node
// Builds the dashboard's static export into out/ (served by the node at `/`) when it is missing or
// older than its sources, and says what it does. `--force` always builds. Telemetry off: a build
// must not reach the network.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const exportIndex = join(root, 'out', 'index.html');
/** What the export is made from: a change to any of these makes out/ stale. */
const SOURCES = ['app', 'lib', 'next.config.mjs', 'postcss.config.mjs', 'package-lock.json'];

function newestMtime(path) {
  if (!existsSync(path)) return 0;
  const stats = statSync(path);
  if (!stats.isDirectory()) return stats.mtimeMs;
  let newest = stats.mtimeMs;
  for (const entry of readdirSync(path)) newest = Math.max(newest, newestMtime(join(path, entry)));
  return newest;
}

function reasonToBuild() {
  if (process.argv.includes('--force')) return 'asked to (--force)';
  if (!existsSync(exportIndex)) return 'out/ has no build yet';
  const built = statSync(exportIndex).mtimeMs;
  const changed = SOURCES.find((source) => newestMtime(join(root, source)) > built);
  return changed ? `${changed} changed since the last build` : null;
}

const reason = reasonToBuild();
if (reason === null) {
  console.log('web app: out/ is up to date with app/ and lib/, not rebuilding');
  process.exit(0);
}
console.log(`web app: building the dashboard into out/ (${reason}); this takes about 20 s`);
const nextBin = join(root, 'node_modules', 'next', 'dist', 'bin', 'next');
const result = spawnSync(process.execPath, [nextBin, 'build'], {
  cwd: root,
  stdio: 'inherit',
  env: { ...process.env, NEXT_TELEMETRY_DISABLED: '1' },
});
if (result.status !== 0) {
  console.error(
    'web app: the build failed (see above); the node can still run, and / will say the app is not built',
  );
  process.exit(result.status ?? 1);
}
console.log('web app: built into out/');
