import net from 'node:net';
import tls from 'node:tls';
import { makeTlsCredentials } from '../../lib/peer/tls-link.node.ts';

/**
 * A TCP relay that sits between a dialling node and the node it dials, for the encrypted-link tests.
 * Modes:
 * - `tap`: passes every byte through unchanged and records them (a passive eavesdropper);
 * - `tamper`: passes bytes through, but flips one bit of the next dialler → acceptor chunk after
 *   `tamperNext()` (an active attacker who cannot decrypt but can edit);
 * - `edit-hello`: rewrites the plain handshake the dialler sends (here: its display name), then
 *   passes everything else through;
 * - `terminate-tls`: relays the two plain handshake frames, then runs TLS itself with its own key
 *   and certificate on both legs (server to the dialler, client to the acceptor) and relays, and
 *   records, the decrypted bytes: a man in the middle.
 * Written from docs/PROTOCOL.md; it uses lib/ only for a certificate.
 */
export type RelayMode = 'tap' | 'tamper' | 'edit-hello' | 'terminate-tls';

export interface LinkRelay {
  readonly port: number;
  /** Bytes seen dialler → acceptor and acceptor → dialler (decrypted ones in terminate-tls mode). */
  readonly seen: Buffer[];
  tamperNext(): void;
  close(): Promise<void>;
}

const FRAME_HEADER_BYTES = 4;

/** Reads exactly one length-prefixed frame off `socket`; returns it whole (prefix included). */
function readFrame(socket: net.Socket): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    let buffered = Buffer.alloc(0);
    const onData = (chunk: Buffer): void => {
      buffered = Buffer.concat([buffered, chunk]);
      if (buffered.length < FRAME_HEADER_BYTES) return;
      const total = FRAME_HEADER_BYTES + buffered.readUInt32BE(0);
      if (buffered.length < total) return;
      socket.off('data', onData);
      socket.off('error', reject);
      socket.pause();
      if (buffered.length > total) socket.unshift(buffered.subarray(total));
      resolve(buffered.subarray(0, total));
    };
    socket.on('data', onData);
    socket.once('error', reject);
    socket.resume();
  });
}

function withName(helloFrame: Buffer, name: string): Buffer {
  const envelope = JSON.parse(helloFrame.subarray(FRAME_HEADER_BYTES).toString('utf8'));
  envelope.content.swarm.name = name;
  const body = Buffer.from(JSON.stringify(envelope), 'utf8');
  const header = Buffer.alloc(FRAME_HEADER_BYTES);
  header.writeUInt32BE(body.length, 0);
  return Buffer.concat([header, body]);
}

function pipe(from: net.Socket, to: net.Socket, record: (chunk: Buffer) => Buffer): void {
  from.on('data', (chunk: Buffer) => to.write(record(chunk)));
  from.on('end', () => to.end());
  from.on('error', () => to.destroy());
  from.on('close', () => to.destroy());
  from.resume();
}

export async function startLinkRelay(targetPort: number, mode: RelayMode): Promise<LinkRelay> {
  const seen: Buffer[] = [];
  const sockets = new Set<net.Socket>();
  let tamper = false;
  const ownTls = mode === 'terminate-tls' ? tls.createSecureContext(await makeTlsCredentials()) : null;
  const record = (chunk: Buffer): Buffer => (seen.push(Buffer.from(chunk)), chunk);
  const maybeTamper = (chunk: Buffer): Buffer => {
    if (!tamper || chunk.length === 0) return record(chunk);
    tamper = false;
    const edited = Buffer.from(chunk);
    edited[edited.length - 1]! ^= 0x01;
    return record(edited);
  };

  const server = net.createServer((dialler) => {
    dialler.pause();
    const acceptor = net.connect({ host: '127.0.0.1', port: targetPort });
    for (const s of [dialler, acceptor]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.on('error', () => {});
    }
    if (mode === 'tap' || mode === 'tamper') {
      acceptor.once('connect', () => {
        pipe(dialler, acceptor, maybeTamper);
        pipe(acceptor, dialler, record);
      });
      return;
    }
    void (async () => {
      const hello = await readFrame(dialler);
      acceptor.write(mode === 'edit-hello' ? withName(hello, 'renamed by the relay') : hello);
      dialler.write(record(await readFrame(acceptor)));
      if (mode === 'edit-hello') {
        pipe(dialler, acceptor, record);
        pipe(acceptor, dialler, record);
        return;
      }
      const towardDialler = new tls.TLSSocket(dialler, { isServer: true, secureContext: ownTls! });
      const towardAcceptor = tls.connect({
        socket: acceptor,
        secureContext: ownTls!,
        rejectUnauthorized: false,
      });
      for (const s of [towardDialler, towardAcceptor]) s.on('error', () => {});
      pipe(towardDialler, towardAcceptor, record);
      pipe(towardAcceptor, towardDialler, record);
    })().catch(() => {
      dialler.destroy();
      acceptor.destroy();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    seen,
    tamperNext: () => void (tamper = true),
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
