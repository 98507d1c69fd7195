import { parseArgs } from 'node:util';
import { parseIceServerUrl } from '../lib/peer/webrtc/ice.ts';

/**
 * Command-line flags of the headless node, with environment defaults. One table drives both the parser
 * and `--help`, so the help text cannot drift from what is accepted.
 */
export interface NodeConfig {
  port: number;
  host: string | undefined;
  apiPort: number;
  apiHost: string;
  advertise: string | undefined;
  dir: string;
  connect: { host: string; port: number }[];
  name: string | null;
  logLevel: LogLevel;
  /** Also print logs to stdout (the log file under <dir>/logs/ is always written). */
  logToStdout: boolean;
  /** Largest upload accepted by POST /api/files/upload, bytes. */
  maxUpload: number;
  /** Serving and downloading caps, bytes per second; 0 = unlimited. */
  uploadLimit: number;
  downloadLimit: number;
  /** A download with no usable source for this long fails, seconds. */
  stallTimeout: number;
  /** Signalling endpoints to join (ws://host:port/signal); peers met there are linked over WebRTC. */
  bootstrap: string[];
  /** No TCP listener and no TCP dialling: WebRTC only. */
  noTcp: boolean;
  /** STUN/TURN servers for WebRTC (stun:host:port, turn:USER:PASS@host:port); default none. */
  iceServers: string[];
  /** No new links once this many peers are connected. */
  maxPeers: number;
  /** WebRTC through TURN relays only (peers never learn this host's addresses). */
  relayOnly: boolean;
  /** A private swarm: only these peer ids are admitted (TCP, WebRTC, this node's /signal); empty = everyone. */
  allow: string[];
  /** Downloads land in <dir>/downloads/ and are neither announced nor served. */
  noReshare: boolean;
}

export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

interface FlagSpec {
  type: 'string' | 'boolean';
  multiple?: boolean;
  value?: string;
  help: string;
}

const FLAGS: Record<string, FlagSpec> = {
  port: { type: 'string', value: 'PORT', help: 'TCP port for peers (env PEER_PORT; default 5000; 0 picks a free port)' },
  host: { type: 'string', value: 'ADDR', help: 'address the peer listener binds to (default: all interfaces)' },
  'api-port': { type: 'string', value: 'PORT', help: 'HTTP port for the REST API and web app (env API_PORT; default 8000; 0 picks one)' },
  'api-host': {
    type: 'string',
    value: 'ADDR',
    help: 'address the HTTP server binds to (default 127.0.0.1); on any address but 127.0.0.1/::1/localhost the REST API requires a bearer token, made at first start in <dir>/api-token.json and printed once',
  },
  advertise: {
    type: 'string',
    value: 'HOST',
    help: 'address announced to peers in handshakes (default: this host name; never the very address a peer dialled, which the reference peer rejects)',
  },
  dir: { type: 'string', value: 'DIR', help: 'data directory: identity, peers, messages, logs, shared_files/ (default ./swarmdrop-data)' },
  connect: { type: 'string', multiple: true, value: 'HOST:PORT', help: 'dial this peer at start (repeatable)' },
  name: { type: 'string', value: 'NAME', help: 'display name sent to swarm peers in the handshake' },
  'max-upload': { type: 'string', value: 'BYTES', help: 'largest file accepted by POST /api/files/upload (default 4G; suffixes K, M, G)' },
  'upload-limit': { type: 'string', value: 'BYTES/S', help: 'cap on the rate this node serves chunks at (default unlimited; suffixes K, M, G)' },
  'download-limit': { type: 'string', value: 'BYTES/S', help: 'cap on the rate this node downloads at (default unlimited; suffixes K, M, G)' },
  'stall-timeout': { type: 'string', value: 'SECONDS', help: 'fail a download that has had no usable source this long (default 30)' },
  bootstrap: {
    type: 'string',
    multiple: true,
    value: 'URL',
    help: 'join this signalling endpoint (ws://host:port/signal) and link to the peers there over WebRTC (repeatable; env SWARMDROP_BOOTSTRAP, comma-separated)',
  },
  'no-tcp': { type: 'boolean', help: 'no TCP listener and no TCP dialling: peers are reached over WebRTC only' },
  'ice-server': {
    type: 'string',
    multiple: true,
    value: 'URL',
    help: 'STUN or TURN server for WebRTC: stun:host:port or turn:USER:PASS@host:port (repeatable; default none)',
  },
  'relay-only': {
    type: 'boolean',
    help: 'WebRTC through the TURN servers of --ice-server only, and no TCP dials to peers met through peer exchange (add --no-tcp to drop the TCP listener too)',
  },
  allow: {
    type: 'string',
    multiple: true,
    value: 'PEER_ID',
    help: 'admit only this peer (repeatable): others are refused on TCP, WebRTC and this node\'s /signal, with the reason logged',
  },
  'no-reshare': {
    type: 'boolean',
    help: 'keep downloads out of what this node shares: they land in <dir>/downloads/, never announced or served',
  },
  'max-peers': { type: 'string', value: 'N', help: 'link to at most this many peers found through signalling (default 20)' },
  'log-level': { type: 'string', value: 'LEVEL', help: `one of ${LOG_LEVELS.join(', ')} (default info)` },
  quiet: { type: 'boolean', help: 'do not print logs to stdout (they still go to <dir>/logs/)' },
  help: { type: 'boolean', help: 'show this help and exit' },
  version: { type: 'boolean', help: 'print the version and exit' },
};

export class ConfigError extends Error {}

export function helpText(): string {
  const lines = Object.entries(FLAGS).map(([name, spec]) => {
    const left = `  --${name}${spec.value ? ` ${spec.value}` : ''}`;
    return `${left.padEnd(26)} ${spec.help}`;
  });
  return [
    'swarmdrop: a headless peer of the swarmdrop swarm',
    '',
    'Usage: swarmdrop [options]     (or: npm start -- [options])',
    '',
    ...lines,
    '',
    'Example: swarmdrop --port 5000 --api-port 8000 --dir ./data --connect 127.0.0.1:5001',
  ].join('\n');
}

function parsePort(text: string, what: string): number {
  const port = Number(text);
  if (!/^\d+$/.test(text) || port > 65535) throw new ConfigError(`${what} must be a port number from 0 to 65535, not "${text}"`);
  return port;
}

export function parseHostPort(text: string): { host: string; port: number } {
  const match = /^(?:\[([^\]]+)\]|([^:]+)):(\d+)$/.exec(text.trim());
  if (!match) throw new ConfigError(`"${text}" is not HOST:PORT (e.g. 127.0.0.1:5000)`);
  const port = parsePort(match[3]!, `the port in "${text}"`);
  if (port === 0) throw new ConfigError(`the port in "${text}" must not be 0`);
  return { host: match[1] ?? match[2]!, port };
}

const BYTE_SUFFIXES: Record<string, number> = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4 };

/** "1048576", "512K", "10M", "4G" (binary units) → bytes. */
export function parseBytes(text: string, what: string): number {
  const match = /^(\d+(?:\.\d+)?)\s*([kmgt]?)i?b?$/i.exec(text.trim());
  const value = match ? Number(match[1]) * BYTE_SUFFIXES[match[2]!.toLowerCase()]! : NaN;
  if (!Number.isFinite(value)) throw new ConfigError(`${what} must be a number of bytes like 1048576, 512K, 10M or 4G, not "${text}"`);
  return Math.floor(value);
}

/** The configuration with every default, as if no flag and no environment variable were given. */
export function defaultConfig(): NodeConfig {
  const parsed = parseConfig([], {});
  if (parsed.kind !== 'run') throw new Error('unreachable');
  return parsed.config;
}

/** Loopback-only settings for tests and benchmarks: free ports, 127.0.0.1 everywhere. */
export function loopbackConfig(overrides: Partial<NodeConfig>): NodeConfig {
  return {
    ...defaultConfig(),
    port: 0,
    host: '127.0.0.1',
    apiPort: 0,
    apiHost: '127.0.0.1',
    advertise: '127.0.0.1',
    ...overrides,
  };
}

export type ParsedArgs = { kind: 'help' } | { kind: 'version' } | { kind: 'run'; config: NodeConfig };

export function parseConfig(argv: string[], env: NodeJS.ProcessEnv = process.env): ParsedArgs {
  let values: Record<string, string | boolean | (string | boolean)[] | undefined>;
  try {
    const options = Object.fromEntries(
      Object.entries(FLAGS).map(([name, spec]) => [name, { type: spec.type, multiple: spec.multiple ?? false }]),
    );
    ({ values } = parseArgs({ args: argv, options, strict: true, allowPositionals: false }));
  } catch (err) {
    throw new ConfigError(`${(err as Error).message}. Run with --help for the list of options.`);
  }
  if (values.help) return { kind: 'help' };
  if (values.version) return { kind: 'version' };
  const str = (name: string) => values[name] as string | undefined;
  const logLevel = (str('log-level') ?? 'info') as LogLevel;
  if (!LOG_LEVELS.includes(logLevel)) throw new ConfigError(`--log-level must be one of ${LOG_LEVELS.join(', ')}`);
  const config: NodeConfig = {
    port: parsePort(str('port') ?? env.PEER_PORT ?? '5000', '--port'),
    host: str('host'),
    apiPort: parsePort(str('api-port') ?? env.API_PORT ?? '8000', '--api-port'),
    apiHost: str('api-host') ?? '127.0.0.1',
    advertise: str('advertise'),
    dir: str('dir') ?? './swarmdrop-data',
    connect: ((values.connect as string[] | undefined) ?? []).map(parseHostPort),
    name: str('name') ?? null,
    logLevel,
    logToStdout: !values.quiet,
    maxUpload: parseBytes(str('max-upload') ?? '4G', '--max-upload'),
    uploadLimit: parseBytes(str('upload-limit') ?? '0', '--upload-limit'),
    downloadLimit: parseBytes(str('download-limit') ?? '0', '--download-limit'),
    stallTimeout: Number(str('stall-timeout') ?? '30'),
    bootstrap: (values.bootstrap as string[] | undefined) ?? (env.SWARMDROP_BOOTSTRAP ?? '').split(',').filter(Boolean),
    noTcp: values['no-tcp'] === true,
    iceServers: (values['ice-server'] as string[] | undefined) ?? [],
    maxPeers: Number(str('max-peers') ?? '20'),
    relayOnly: values['relay-only'] === true,
    allow: (values.allow as string[] | undefined) ?? [],
    noReshare: values['no-reshare'] === true,
  };
  for (const url of config.iceServers) {
    try {
      parseIceServerUrl(url);
    } catch (err) {
      throw new ConfigError(`--ice-server: ${(err as Error).message}`);
    }
  }
  if (config.relayOnly && !config.iceServers.some((url) => /^\s*turns?:/i.test(url))) {
    throw new ConfigError('--relay-only needs a TURN server: add --ice-server turn:USER:PASS@host:port');
  }
  for (const id of config.allow) {
    if (!/^[\x21-\x7e]{1,256}$/.test(id)) throw new ConfigError(`--allow takes a peer id (as GET /api/status shows it), not "${id}"`);
  }
  for (const url of config.bootstrap) {
    if (!/^wss?:\/\/[^/]+/.test(url)) throw new ConfigError(`--bootstrap takes a ws:// or wss:// URL such as ws://127.0.0.1:8000/signal, not "${url}"`);
  }
  if (!Number.isInteger(config.maxPeers) || config.maxPeers < 1) throw new ConfigError('--max-peers must be a whole number of at least 1');
  if (config.noTcp && config.connect.length) throw new ConfigError('--connect dials over TCP, which --no-tcp turns off');
  if (!(config.stallTimeout > 0)) throw new ConfigError('--stall-timeout must be a positive number of seconds');
  if (config.name !== null && config.name.length > 64) throw new ConfigError('--name is limited to 64 characters');
  return { kind: 'run', config };
}
