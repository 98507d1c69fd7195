import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer } from 'ws';
import type { WebSocket } from 'ws';
import { AddressLimit } from '../lib/peer/address-limit.ts';
import { SIGNAL_PATH } from '../lib/peer/signalling/messages.ts';

/**
 * The door of the signalling endpoint: takes the HTTP upgrades to `/signal` on the node's API server
 * and turns them into WebSockets for the hub, answers 404 to other paths when nobody else serves
 * WebSockets, and leaves other paths alone when someone does.
 */
export class SignalUpgrades {
  readonly #http: Server;
  readonly #wss: WebSocketServer;
  readonly #onSocket: (ws: WebSocket, req: IncomingMessage) => void;
  readonly #perAddress: AddressLimit;
  readonly #onRefused: (remote: string, reason: string) => void;
  #stopped = false;

  /**
   * `maxPayloadBytes`: frames bigger than this are refused by the WebSocket layer from the header alone.
   * Upgrades from an address that holds `maxConnectionsPerAddress` sockets already are answered 503
   * and reported to `onRefused`.
   */
  constructor(
    http: Server,
    options: { maxPayloadBytes: number; maxConnectionsPerAddress?: number; onRefused: (remote: string, reason: string) => void },
    onSocket: (ws: WebSocket, req: IncomingMessage) => void,
  ) {
    this.#http = http;
    this.#onSocket = onSocket;
    this.#onRefused = options.onRefused;
    this.#perAddress = new AddressLimit(options.maxConnectionsPerAddress);
    const maxPayloadBytes = options.maxPayloadBytes;
    this.#wss = new WebSocketServer({
      noServer: true,
      clientTracking: false,
      perMessageDeflate: false,
      maxPayload: maxPayloadBytes,
    });
    http.on('upgrade', this.#onUpgrade);
  }

  /** Stops answering upgrades; sockets already open are the hub's to close. */
  stop(): void {
    this.#stopped = true;
    this.#http.off('upgrade', this.#onUpgrade);
  }

  /** Closes the WebSocket server: call once the hub's sockets have closed. */
  close(): Promise<void> {
    this.stop();
    return new Promise<void>((resolve) => this.#wss.close(() => resolve()));
  }

  readonly #onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
    socket.on('error', () => socket.destroy());
    if (pathOf(req.url) !== SIGNAL_PATH) {
      // Another part of the node may serve WebSockets on its own path: leave its sockets alone.
      if (this.#http.listenerCount('upgrade') === 1) {
        socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n', () =>
          socket.destroy(),
        );
      }
      return;
    }
    if (this.#stopped) {
      socket.destroy();
      return;
    }
    const address = req.socket.remoteAddress ?? 'unknown';
    if (!this.#perAddress.tryAcquire(address)) {
      socket.end('HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nContent-Length: 0\r\n\r\n', () =>
        socket.destroy(),
      );
      this.#onRefused(
        `${address}:${req.socket.remotePort}`,
        `${this.#perAddress.max} signalling sockets from ${address} are open already (the limit per address)`,
      );
      return;
    }
    socket.once('close', () => this.#perAddress.release(address));
    this.#wss.handleUpgrade(req, socket, head, (ws) => this.#onSocket(ws, req));
  };
}

function pathOf(url: string | undefined): string {
  try {
    return new URL(url ?? '/', 'http://localhost').pathname;
  } catch {
    return '';
  }
}
