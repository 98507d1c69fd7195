#!/usr/bin/env node
// Checks the system packages the tests need and installs the missing ones when it can (root with apt),
// or says exactly what to run. Run by `npm test` before the test runner.
import { execFileSync, spawnSync } from 'node:child_process';

/** binary on PATH -> Debian package that provides it, and what the tests use it for. */
const NEEDED = [{ binary: 'turnserver', pkg: 'coturn', why: 'the TURN relay test (WebRTC through a relay on loopback)' }];

const has = (binary) => spawnSync('sh', ['-c', `command -v ${binary}`], { stdio: 'ignore' }).status === 0;
const missing = NEEDED.filter((n) => !has(n.binary));
if (missing.length === 0) process.exit(0);

const pkgs = missing.map((n) => n.pkg);
const isRoot = process.getuid?.() === 0;
if (isRoot && has('apt-get')) {
  console.log(`Installing ${pkgs.join(', ')} for ${missing.map((n) => n.why).join('; ')} ...`);
  try {
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
    execFileSync('apt-get', ['update', '-qq'], { stdio: 'inherit', env });
    execFileSync('apt-get', ['install', '-y', '-qq', ...pkgs], { stdio: 'inherit', env });
  } catch {
    console.error(`Could not install ${pkgs.join(', ')}. Install it yourself: sudo apt-get install -y ${pkgs.join(' ')}`);
    process.exit(1);
  }
  if (missing.every((n) => has(n.binary))) process.exit(0);
}
console.error(
  `The tests need ${missing.map((n) => `${n.binary} (package ${n.pkg}, for ${n.why})`).join(', ')}.\n` +
    `Install it first: sudo apt-get install -y ${pkgs.join(' ')}`,
);
process.exit(1);
