// One WebTorrent peer in its own process, for the vs-webtorrent benchmark (bench/suite/vs-webtorrent.ts).
// Plain JS: the `webtorrent` package has no type definitions. Loopback only: no DHT, trackers, LSD,
// uTP, NAT traversal or web seeds (NOTES-WEBRTC.md), and torrents without announce URLs.
//
//   node webtorrent-peer.mjs seed <file>                      -> {"torrent":"<base64>","port":N}
//   node webtorrent-peer.mjs download <dir> <seeder port>     (reads {"torrent"} on stdin)
//                                                             -> {"ms":N,"bytes":N}
// Then it waits for "stop" on stdin (or its parent going away) and exits.
import { Buffer } from 'node:buffer';
import process from 'node:process';
import { createInterface } from 'node:readline';
import { performance } from 'node:perf_hooks';
import WebTorrent from 'webtorrent';

const LOOPBACK_ONLY = { dht: false, tracker: false, lsd: false, utp: false, natUpnp: false, natPmp: false, webSeeds: false };
const reply = (value) => process.stdout.write(`${JSON.stringify(value)}\n`);
const client = new WebTorrent(LOOPBACK_ONLY);
client.on('error', (err) => {
  process.stderr.write(`webtorrent: ${err.message}\n`);
  process.exit(1);
});

const lines = createInterface({ input: process.stdin });
const nextLine = () => new Promise((resolve) => lines.once('line', resolve));
const [mode, ...rest] = process.argv.slice(2);

if (mode === 'seed') {
  const [file] = rest;
  client.seed(file, { announceList: [], announce: [] }, (torrent) => {
    const send = () => reply({ torrent: Buffer.from(torrent.torrentFile).toString('base64'), port: client.address().port });
    if (client.listening) send();
    else client.once('listening', send);
  });
} else if (mode === 'download') {
  const [dir, port] = rest;
  const { torrent: encoded } = JSON.parse(await nextLine());
  const startedAt = performance.now();
  client.add(Buffer.from(encoded, 'base64'), { path: dir, announceList: [], announce: [] }, (torrent) => {
    torrent.addPeer(`127.0.0.1:${port}`);
    torrent.once('done', () => reply({ ms: performance.now() - startedAt, bytes: torrent.length }));
  });
} else {
  process.stderr.write(`unknown mode ${mode}\n`);
  process.exit(2);
}

let stopping = false;
const stop = () => {
  if (stopping) return;
  stopping = true;
  client.destroy(() => process.exit(0));
};
lines.on('line', (line) => {
  if (line.trim() === 'stop') stop();
});
lines.on('close', stop);
