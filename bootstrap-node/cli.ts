import { ConfigError, helpText, parseConfig } from './config.ts';
import { startNode } from './node.ts';
import { shutdownWebRtc } from '../lib/peer/transport-webrtc.node.ts';
import { VERSION } from './api/status.ts';
import { API_TOKEN_FILE_NAME } from './api/access.ts';

/** Entry point of `swarmdrop` / `npm start`: parse flags, start the node, shut down on signals. */
async function main(): Promise<void> {
  let parsed;
  try {
    parsed = parseConfig(process.argv.slice(2));
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`swarmdrop: ${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
  if (parsed.kind === 'help') return void process.stdout.write(`${helpText()}\n`);
  if (parsed.kind === 'version') return void process.stdout.write(`${VERSION}\n`);

  let node;
  try {
    node = await startNode(parsed.config);
  } catch (err) {
    process.stderr.write(`swarmdrop: could not start: ${(err as Error).message}\n`);
    process.exit(1);
  }
  if (node.apiToken && node.apiTokenCreated) {
    // Printed this once and never logged; it stays in <dir>/api-token.json (mode 0600).
    process.stdout.write(
      `\nThe REST API is bound to ${parsed.config.apiHost}, so it requires a token (kept in ${node.dir}/${API_TOKEN_FILE_NAME}):\n` +
        `  Authorization: Bearer ${node.apiToken}\n` +
        `The dashboard at ${node.apiUrl}/ needs no token: it talks to peers, not to the REST API.\n\n`,
    );
  }
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    node.log.info({ signal }, 'signal received');
    node.close().then(
      () => {
        shutdownWebRtc(); // node-datachannel's native threads would otherwise keep the process alive
        process.exit(0);
      },
      (err) => {
        process.stderr.write(`swarmdrop: error while shutting down: ${(err as Error).message}\n`);
        process.exit(1);
      },
    );
  };
  // A stray rejection is a bug, but one peer's bad luck must not take the node down for everyone.
  process.on('unhandledRejection', (reason) => node.log.error({ err: reason }, 'unhandled rejection (bug): the node carries on'));
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
}

void main();
