#!/usr/bin/env node
// Builds the optional page-cache addon (native/page-cache) with npm's own node-gyp. `npm install`
// runs this (postinstall), and `npm test` runs it again when the addon is missing, once the C
// toolchain is there (ensure-system-deps.mjs). A failed build never fails the install: downloads
// then keep what they write in the page cache, as before (lib/transfer/page-cache.node.ts).
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const addonDir = join(root, 'native', 'page-cache');
export const PAGE_CACHE_ADDON = join(addonDir, 'build', 'Release', 'page_cache.node');

/**
 * npm's bundled node-gyp, with npm's settings (nodedir: where Node's headers are, so nothing is
 * downloaded). npm passes both to the scripts it runs; run by hand, this asks npm for them.
 */
function nodeGyp() {
  const npmOutput = (...args) => spawnSync('npm', args, { encoding: 'utf8' }).stdout?.trim() ?? '';
  const env = { ...process.env };
  if (!env.npm_config_nodedir) {
    const nodedir = npmOutput('config', 'get', 'nodedir');
    if (nodedir && nodedir !== 'undefined') env.npm_config_nodedir = nodedir;
  }
  const script =
    env.npm_config_node_gyp ||
    join(npmOutput('root', '-g'), 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js');
  return { script, env };
}

/** Builds the addon (Linux only: the advice it gives is a Linux one); true when it is there after. */
export function buildPageCacheAddon() {
  if (process.platform !== 'linux') return false;
  const { script, env } = nodeGyp();
  const run = spawnSync(process.execPath, [script, 'rebuild', '--silent'], {
    cwd: addonDir,
    stdio: ['ignore', 'ignore', 'inherit'],
    env,
  });
  return run.status === 0 && existsSync(PAGE_CACHE_ADDON);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  if (process.platform === 'linux' && !buildPageCacheAddon()) {
    console.warn(
      'swarmdrop: the page-cache addon (native/page-cache) did not build; downloads work without it.\n' +
        '  To build it: install make, g++ and python3, then run `npm test` or `node scripts/build-native.mjs`.',
    );
  }
}
