/** Types for bin/runtime-flags.mjs (plain JS so that bin/ and scripts/ can import it without a loader). */
export declare const NODE_RUNTIME_FLAGS: readonly string[];
