#!/usr/bin/env node
// Checks the system packages the tests need and installs the missing ones when it can (root with
// apt), or says exactly what to run. `npm test` runs it before anything else.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { PAGE_CACHE_ADDON, buildPageCacheAddon } from './build-native.mjs';

/** What the tests need: a check, the Debian package that provides it, and what it is for. */
const NEEDED = [
  { pkg: 'chromium', why: 'the browser tests (Playwright drives Debian Chromium)', ok: () => existsSync('/usr/lib/chromium/chromium') },
  { pkg: 'coturn', why: 'the TURN relay test (WebRTC through a relay on loopback)', ok: () => has('turnserver') },
  { pkg: 'iptables', why: 'the TURN test blocks direct paths inside its own network namespace', ok: () => has('iptables') },
  { pkg: 'iproute2', why: 'tests run in a loopback-only network namespace', ok: () => has('ip') },
  { pkg: 'util-linux-extra', why: 'fincore, which tells the page-cache test what a download left cached', ok: () => has('fincore') },
  // npm install builds the page-cache addon (native/page-cache) with node-gyp, which needs these.
  { pkg: 'make', why: 'building the page-cache addon', ok: () => has('make') },
  { pkg: 'g++', why: 'building the page-cache addon', ok: () => has('cc') && has('g++') },
  { pkg: 'python3', why: 'node-gyp, which builds the page-cache addon', ok: () => has('python3') },
];

function has(binary) {
  return spawnSync('sh', ['-c', `command -v ${binary}`], { stdio: 'ignore' }).status === 0;
}

const missing = () => NEEDED.filter((n) => !n.ok());
let lacking = missing();
if (lacking.length === 0) buildAddonAndExit();

const pkgs = lacking.map((n) => n.pkg);
if (process.getuid?.() === 0 && has('apt-get')) {
  console.log(`Installing ${pkgs.join(', ')} for ${lacking.map((n) => n.why).join('; ')} ...`);
  try {
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
    execFileSync('apt-get', ['update', '-qq'], { stdio: 'inherit', env });
    execFileSync('apt-get', ['install', '-y', '-qq', ...pkgs], { stdio: 'inherit', env });
  } catch {
    console.error(`Could not install ${pkgs.join(', ')}. Install them yourself: sudo apt-get install -y ${pkgs.join(' ')}`);
    process.exit(1);
  }
  lacking = missing();
  if (lacking.length === 0) buildAddonAndExit();
}
console.error(
  `The tests need ${lacking.map((n) => `${n.pkg} (for ${n.why})`).join(', ')}.\n` +
    `Install them first: sudo apt-get install -y ${lacking.map((n) => n.pkg).join(' ')}`,
);
process.exit(1);

/** With the toolchain in place: builds the addon if npm install could not, then exits. */
function buildAddonAndExit() {
  if (process.platform === 'linux' && !existsSync(PAGE_CACHE_ADDON)) {
    console.log('Building the page-cache addon (native/page-cache), which npm install could not build ...');
    if (!buildPageCacheAddon()) {
      console.error('Could not build native/page-cache: node-gyp said why above.');
      process.exit(1);
    }
  }
  process.exit(0);
}
