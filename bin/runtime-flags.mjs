/**
 * Flags for the Node.js runtime that runs a node, given on its command line by everything that starts
 * one: the shebang of bin/swarmdrop.mjs, `npm start`, scripts/dev.mjs, and the tests' and benchmarks'
 * child processes (tests/unit/runtime-flags.test.ts checks that the first two carry exactly these).
 * They are V8 start-up flags: the heap's limits are fixed before any of our code runs, so they
 * cannot be set from inside the node.
 *
 * --max-semi-space-size=2: V8's young generation grows to 2 x 16 MiB while the TypeScript sources
 * load and never shrinks back, and the 16 KiB buffers TLS hands over for every read (Node gives no
 * way to read a wrapped TLS socket into a buffer of our own) are freed only by the young
 * generation's collections, which a larger young generation runs less often. Capped at 2 MiB per
 * semi-space, a 2 GiB download peaked at 163 MB instead of 204 MB at the same speed (bench/README.md,
 * "memory").
 */
export const NODE_RUNTIME_FLAGS = ['--max-semi-space-size=2'];
