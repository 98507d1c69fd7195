/**
 * Protocol constants, each with its unit and the reason for the number.
 * Values that STANDARD-PROTOCOL.md fixes are marked "standard": changing them breaks compatibility.
 */

/** standard: the protocol version every envelope carries. */
export const PROTOCOL_VERSION = '1.0';

/** standard: the reference peer rejects frames over 10 MiB, so we neither send nor accept more. */
export const MAX_FRAME_BYTES = 10 * 1024 * 1024;

/** standard: length prefix is a 4-byte big-endian unsigned integer. */
export const FRAME_HEADER_BYTES = 4;

/** standard: a text message holds at most 10,000 characters. */
export const MAX_TEXT_CHARS = 10_000;

/** standard: the reference peer drops messages whose timestamp is further than this from its clock. */
export const MAX_CLOCK_SKEW_SECONDS = 300;

/** standard: peers ping about every 20 s ... */
export const PING_INTERVAL_MS = 20_000;

/** standard: ... and drop a connection that has been idle (nothing received) for 60 s. */
export const IDLE_TIMEOUT_MS = 60_000;

/**
 * How long a message id is remembered for de-duplication. Anything older than the clock-skew
 * window is rejected by timestamp anyway, so twice that window covers every id we could accept.
 */
export const DEDUP_WINDOW_MS = 2 * MAX_CLOCK_SKEW_SECONDS * 1000;

/** Reconnect back-off to known peers: first retry after 1 s, doubling up to 60 s, +-30 % jitter. */
export const RECONNECT_INITIAL_MS = 1_000;
export const RECONNECT_MAX_MS = 60_000;
export const RECONNECT_JITTER = 0.3;

/** A TCP dial that has not connected in this long is reported as timed out (loopback is instant). */
export const DIAL_TIMEOUT_MS = 5_000;

/** A connection that has not completed the handshake in this long is closed. */
export const HANDSHAKE_TIMEOUT_MS = 10_000;

/** Version of the swarm extension advertised in the handshake; peers use the lower of the two. */
export const SWARM_EXTENSION_VERSION = 1;
