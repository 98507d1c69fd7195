#!/usr/bin/env node
// Development: a node (REST API + signalling on 127.0.0.1:8000, data in ./swarmdrop-data) and
// `next dev` with hot reload on http://127.0.0.1:3000/, whose pages bootstrap from that node
// (NEXT_PUBLIC_SWARMDROP_BOOTSTRAP). Extra arguments go to the node, e.g. `npm run dev -- --dir ./other`.
// Ctrl-C stops both.
import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { NODE_RUNTIME_FLAGS } from '../bin/runtime-flags.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const API_PORT = process.env.API_PORT ?? '8000';
const DEV_PORT = process.env.DEV_PORT ?? '3000';
const bootstrap = `ws://127.0.0.1:${API_PORT}/signal`;

const children = [
  spawn(
    process.execPath,
    [...NODE_RUNTIME_FLAGS, join(root, 'bin', 'swarmdrop.mjs'), '--api-port', API_PORT, ...process.argv.slice(2)],
    {
      cwd: root,
      stdio: 'inherit',
    },
  ),
  spawn(
    process.execPath,
    [
      join(root, 'node_modules', 'next', 'dist', 'bin', 'next'),
      'dev',
      '--hostname',
      '127.0.0.1',
      '--port',
      DEV_PORT,
    ],
    {
      cwd: root,
      stdio: 'inherit',
      env: { ...process.env, NEXT_TELEMETRY_DISABLED: '1', NEXT_PUBLIC_SWARMDROP_BOOTSTRAP: bootstrap },
    },
  ),
];
console.log(`dev: open http://127.0.0.1:${DEV_PORT}/ (the page bootstraps from the node at ${bootstrap})`);

let stopping = false;
function stopAll(code) {
  if (stopping) return;
  stopping = true;
  for (const child of children) if (child.exitCode === null) child.kill('SIGTERM');
  process.exitCode = code;
}
for (const child of children) child.on('exit', (code) => stopAll(code ?? 0));
process.on('SIGINT', () => stopAll(0));
process.on('SIGTERM', () => stopAll(0));
