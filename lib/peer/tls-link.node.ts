import { webcrypto } from 'node:crypto';
import type net from 'node:net';
import tls from 'node:tls';
import { SwarmError } from './errors.ts';

/**
 * TLS 1.3 for a TCP link between two swarm peers, started on the socket that just carried the plain
 * standard handshake (STARTTLS style). The certificate is an ephemeral self-signed one, made once per
 * process and verified by nobody: who is at the other end is proven afterwards, inside the channel, by
 * each side signing the channel's tls-exporter value (RFC 9266) with its Ed25519 peer key. A man in the
 * middle that terminates TLS on both legs holds two sessions with two different exporter values, so
 * neither side's signature verifies on the other (see docs/PROTOCOL.md, "Encrypted TCP links").
 */

export type TlsRole = 'client' | 'server';

/** RFC 9266: the label of the tls-exporter channel binding, with an empty context. */
export const TLS_EXPORTER_LABEL = 'EXPORTER-Channel-Binding';
/** RFC 9266: the tls-exporter channel binding is 32 bytes long. */
export const TLS_EXPORTER_BYTES = 32;

/** Only TLS 1.3: its exporter is bound to the whole handshake (in 1.2 it needs extended master secret). */
const TLS_VERSION = 'TLSv1.3';
/** The certificate outlives any process that makes it; nobody checks dates, but OpenSSL wants sane ones. */
const CERTIFICATE_LIFETIME_MS = 365 * 24 * 3600 * 1000;
/** Backdated so a peer whose clock runs a little behind does not see a certificate from the future. */
const CERTIFICATE_BACKDATE_MS = 24 * 3600 * 1000;
/**
 * TLS 1.3 suites, fastest first: AES-128-GCM runs at about twice the speed of AES-256-GCM (OpenSSL's
 * default first choice) on a CPU with AES instructions, and 128-bit keys are ample for a link whose
 * keys live for one connection; ChaCha20 is the fast choice where AES has no hardware support.
 */
const TLS_CIPHER_SUITES = 'TLS_AES_128_GCM_SHA256:TLS_CHACHA20_POLY1305_SHA256:TLS_AES_256_GCM_SHA384';
/** The version and suites of every TLS link (and of the benchmark's TLS copy, which measures them). */
export const TLS_SETTINGS = { minVersion: TLS_VERSION, maxVersion: TLS_VERSION, ciphers: TLS_CIPHER_SUITES } as const;
const CERTIFICATE_KEY = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
/** Certificate serial numbers are positive: 8 random bytes with the top bit cleared. */
const SERIAL_NUMBER_BYTES = 8;

/** A private key and its self-signed certificate, as PEM. */
export type TlsCredentials = { key: string; cert: string };

let credentials: Promise<TlsCredentials> | null = null;

/** This process's TLS key and self-signed certificate, made on first use. */
export function processTlsCredentials(): Promise<TlsCredentials> {
  credentials ??= makeTlsCredentials().catch((err: unknown) => {
    credentials = null; // let a later link try again rather than cache the failure
    throw err;
  });
  return credentials;
}

/** A fresh key and self-signed certificate (what `processTlsCredentials` makes once). */
export async function makeTlsCredentials(): Promise<TlsCredentials> {
  const x509 = await loadX509();
  x509.cryptoProvider.set(webcrypto as unknown as Crypto);
  const keys = (await webcrypto.subtle.generateKey(CERTIFICATE_KEY, true, [
    'sign',
    'verify',
  ])) as CryptoKeyPair;
  const now = Date.now();
  const certificate = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: randomSerialNumber(),
    name: 'CN=swarmdrop',
    notBefore: new Date(now - CERTIFICATE_BACKDATE_MS),
    notAfter: new Date(now + CERTIFICATE_LIFETIME_MS),
    keys,
    signingAlgorithm: CERTIFICATE_KEY,
  });
  const pkcs8 = await webcrypto.subtle.exportKey('pkcs8', keys.privateKey);
  return { key: x509.PemConverter.encode(pkcs8, 'PRIVATE KEY'), cert: certificate.toString('pem') };
}

function randomSerialNumber(): string {
  const bytes = webcrypto.getRandomValues(new Uint8Array(SERIAL_NUMBER_BYTES));
  bytes[0]! &= 0x7f;
  return Buffer.from(bytes).toString('hex');
}

/**
 * @peculiar/x509 resolves its algorithm classes through tsyringe, which refuses to load unless the
 * reflect-metadata API exists, although x509 stores no metadata. Empty lookups are all it needs; an
 * existing implementation (if something else installed one) is left alone.
 */
async function loadX509(): Promise<typeof import('@peculiar/x509')> {
  const reflect = Reflect as unknown as Record<string, unknown>;
  reflect.getMetadata ??= () => undefined;
  reflect.getOwnMetadata ??= () => undefined;
  reflect.defineMetadata ??= () => {};
  return import('@peculiar/x509');
}

/**
 * Starts TLS on `socket` and resolves with the TLS socket and its tls-exporter value once the TLS
 * handshake is done. The caller must have stopped reading `socket` (paused, no 'data' listener) with
 * nothing of the remote's consumed past the last plain frame: the TLS layer reads from there.
 *
 * A server-side handshake does not notice a remote that hangs up before its ClientHello (the paused
 * socket already took the end of stream), so the caller bounds the wait and aborts through `signal`.
 */
export async function startTls(
  socket: net.Socket,
  role: TlsRole,
  where: string,
  signal: AbortSignal,
): Promise<{ socket: tls.TLSSocket; exporter: Uint8Array }> {
  const { key, cert } = await processTlsCredentials();
  return new Promise((resolve, reject) => {
    let secured: tls.TLSSocket | null = null;
    const onClose = (): void => fail(new Error('the connection closed during the TLS handshake'));
    const onAbort = (): void => fail(new Error('the link closed during the TLS handshake'));
    const fail = (err: Error): void => {
      signal.removeEventListener('abort', onAbort);
      secured?.off('error', fail);
      secured?.off('close', onClose);
      secured?.destroy();
      socket.destroy();
      reject(new SwarmError('ENCRYPTION_FAILED', `TLS with ${where} failed: ${err.message}`, { cause: err }));
    };
    const done = (ready: tls.TLSSocket): void => {
      signal.removeEventListener('abort', onAbort);
      ready.off('error', fail);
      ready.off('close', onClose);
      if (ready.getProtocol() !== TLS_VERSION) {
        fail(new Error(`negotiated ${String(ready.getProtocol())}, not ${TLS_VERSION}`));
        return;
      }
      const exporter = ready.exportKeyingMaterial(TLS_EXPORTER_BYTES, TLS_EXPORTER_LABEL, Buffer.alloc(0));
      resolve({ socket: ready, exporter: new Uint8Array(exporter) });
    };
    if (signal.aborted) return onAbort();
    signal.addEventListener('abort', onAbort);
    if (role === 'client') {
      // No certificate check on purpose: identity is proven by the signed exporter, not by a CA.
      secured = tls.connect({ socket, rejectUnauthorized: false, ...TLS_SETTINGS });
      secured.once('secureConnect', () => done(secured!));
    } else {
      // A server socket reports TLS errors after the handshake as 'error' only when a tls.Server
      // owns it, so hand the socket to one (not listening: it only runs this handshake).
      const server = tls.createServer({ key, cert, ...TLS_SETTINGS });
      server.once('tlsClientError', fail);
      server.once('secureConnection', (ready: tls.TLSSocket) => {
        server.off('tlsClientError', fail);
        done(ready);
      });
      server.emit('connection', socket);
      return;
    }
    secured.on('error', fail);
    secured.on('close', onClose);
  });
}
