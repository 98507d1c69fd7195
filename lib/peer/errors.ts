/** Errors carry a stable code so callers, logs and the API can tell them apart without parsing text. */
export type ErrorCode =
  | 'FRAME_TOO_LARGE'
  | 'FRAME_NOT_JSON'
  | 'FRAME_NO_ENVELOPE'
  | 'BAD_CONTENT'
  | 'TRANSPORT_CLOSED'
  | 'TRANSPORT_ERROR'
  | 'CONNECT_REFUSED'
  | 'CONNECT_TIMEOUT'
  | 'CONNECT_UNREACHABLE'
  | 'CONNECT_FAILED'
  | 'LISTEN_FAILED'
  | 'HANDSHAKE_FAILED'
  | 'IDENTITY_MISMATCH'
  | 'IDLE_TIMEOUT'
  | 'PEER_UNKNOWN'
  | 'SHUTDOWN'
  /** A better link to the same peer took over (a TCP link replaces a WebRTC one between nodes). */
  | 'SUPERSEDED'
  | 'PEER_NOT_ALLOWED'
  | 'ENCRYPTION_FAILED'
  | 'RATE_LIMITED';

export class SwarmError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'SwarmError';
    this.code = code;
  }
}

export function isSwarmError(err: unknown, code?: ErrorCode): err is SwarmError {
  return err instanceof SwarmError && (code === undefined || err.code === code);
}
