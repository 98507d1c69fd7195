import { SwarmError, type ErrorCode } from './errors.ts';

/** Names and errors of TCP endpoints, in the words the rest of the system and its users want. */

/** "127.0.0.1:5999", or "[::1]:5999" for an IPv6 address, for messages. */
export function endpointName(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

/** A dual-stack listener reports IPv4 peers as "::ffff:1.2.3.4"; the rest of the system wants "1.2.3.4". */
export function plainAddress(address: string | undefined): string | null {
  if (address === undefined) return null;
  return /^::ffff:\d+\.\d+\.\d+\.\d+$/i.test(address) ? address.slice('::ffff:'.length) : address;
}

/** The errno-style code of a socket error; with Node's happy-eyeballs dialing it sits on the inner errors. */
function errnoCode(err: unknown): string | undefined {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  if (code !== undefined) return code;
  if (err instanceof AggregateError) return errnoCode(err.errors[0]);
  return undefined;
}

export function dialError(err: unknown, where: string): SwarmError {
  const code = errnoCode(err);
  const [swarmCode, words]: [ErrorCode, string] =
    code === 'ECONNREFUSED'
      ? ['CONNECT_REFUSED', `connection to ${where} was refused (nothing is listening there)`]
      : code === 'EHOSTUNREACH' || code === 'ENETUNREACH'
        ? ['CONNECT_UNREACHABLE', `${where} is unreachable from this machine`]
        : code === 'ENOTFOUND' || code === 'EAI_AGAIN'
          ? ['CONNECT_UNREACHABLE', `cannot connect to ${where}: the host name could not be resolved`]
          : code === 'ETIMEDOUT'
            ? ['CONNECT_TIMEOUT', `connection to ${where} timed out`]
            : ['CONNECT_FAILED', `connection to ${where} failed: ${(err as Error)?.message ?? String(err)}`];
  return new SwarmError(swarmCode, words, { cause: err });
}

export function listenError(err: unknown, where: string): SwarmError {
  const code = errnoCode(err);
  const reason =
    code === 'EADDRINUSE'
      ? 'the port is already in use (is another node running?)'
      : code === 'EACCES'
        ? 'permission denied (ports below 1024 need privileges)'
        : code === 'EADDRNOTAVAIL'
          ? 'that address does not belong to this machine'
          : ((err as Error)?.message ?? String(err));
  return new SwarmError('LISTEN_FAILED', `cannot listen on ${where}: ${reason}`, { cause: err });
}
