import type { PeerKind } from './handshake.ts';
import type { Identity } from './identity.ts';
import type { Transport } from './transport.ts';
import type { Message } from './wire/schema.ts';
import type { Logger } from '../util/logger.ts';
import type { Timers } from '../util/timers.ts';

/** The shapes a Connection (connection.ts) takes and gives. */

export type ConnectionRole = 'dialler' | 'acceptor';
export type ConnectionState = 'handshaking' | 'authenticating' | 'open' | 'closed';
export type RemoteKind = PeerKind | 'standard';

export interface RemoteInfo {
  peerId: string;
  kind: RemoteKind;
  name: string | null;
  /** Address and listening port the remote advertised in its handshake. */
  address: string | null;
  port: number | null;
  publicKey: string | null;
  /** Negotiated swarm extension version, or null for a standard peer. */
  swarmVersion: number | null;
  /** True when the remote proved it holds the key its id derives from. */
  verified: boolean;
}

export interface LocalInfo {
  identity: Identity;
  kind: PeerKind;
  name: string | null;
  /** Listening port announced in handshakes (0 when the peer accepts no inbound connections). */
  port: number;
  /** Address announced in handshakes, given what we know of this transport. */
  advertiseAddress(transport: Transport, role: ConnectionRole): string;
  /** A private peer's allow list (--allow): false refuses the remote's id before we answer or prove anything. */
  admits?(peerId: string): boolean;
}

export type ConnectionEvents = {
  open: (remote: RemoteInfo) => void;
  message: (message: Message) => void;
  /** A binary swarm frame (only after both sides negotiated the swarm extension). */
  binary: (frame: Uint8Array) => void;
  /** A well-framed message that was dropped, with the reason (counted as failed). */
  rejected: (reason: string) => void;
  rtt: (ms: number) => void;
  traffic: (bytesIn: number, bytesOut: number) => void;
  close: (err: Error | undefined) => void;
};

export interface ConnectionOptions {
  transport: Transport;
  role: ConnectionRole;
  local: LocalInfo;
  log: Logger;
  timers: Timers;
  pingIntervalMs?: number;
  idleTimeoutMs?: number;
  handshakeTimeoutMs?: number;
}
