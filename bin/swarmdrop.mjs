#!/usr/bin/env -S node --max-semi-space-size=2
// The shebang carries the runtime flags of bin/runtime-flags.mjs (so does `npm start`).
// Runs the TypeScript sources directly through tsx's loader: no build step between a clone and a node.
import { register } from 'tsx/esm/api';

register();
await import('../bootstrap-node/cli.ts');
