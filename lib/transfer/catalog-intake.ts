/**
 * What peers tell us about their files, checked and put into the remote catalog: manifests (standard
 * and swarm, whole or partial) and a standard peer's "I now hold it" (`file_availability`).
 */
import type { Library } from './library.ts';
import { makeStandardManifest, STANDARD_CHUNK_SIZE, validateContentInfo, validateStandardManifest } from './manifest.ts';
import type { RemoteCatalog } from './remote-catalog.ts';
import type { Connection } from '../peer/connection.ts';
import type { Message } from '../peer/wire/schema.ts';
import type { Logger } from '../util/logger.ts';

export function acceptManifest(catalog: RemoteCatalog, log: Logger, m: Message<'file_manifest'>, c: Connection): void {
  const checked = validateStandardManifest(m.content);
  if (!checked.ok) return void log.warn({ peer: c.peerId, reason: checked.reason }, 'ignored an invalid manifest');
  let content = null;
  if (c.isSwarm && m.content.swarm_content) {
    const info = validateContentInfo(m.content.swarm_content, checked.manifest.file_size);
    if (!info.ok) return void log.warn({ peer: c.peerId, reason: info.reason }, 'ignored a manifest with bad content info');
    content = info.value;
  }
  const partial = c.isSwarm && m.content.partial === true;
  if (!catalog.addManifest(c.peerId!, checked.manifest, { swarm: c.isSwarm, content, partial })) {
    log.warn({ peer: c.peerId, file: checked.manifest.file_id, partial }, 'ignored a manifest that contradicts an earlier one or claims too many chunks');
  }
}

/** A standard peer finished a download: it now holds the file, in the chunk size we announced to it. */
export function acceptAvailability(catalog: RemoteCatalog, library: Library, m: Message<'file_availability'>, c: Connection): void {
  const remote = catalog.get(m.content.file_id);
  const local = library.get(m.content.file_id);
  const fileName = remote?.fileName ?? local?.name;
  const fileSize = remote?.fileSize ?? local?.size;
  if (fileName === undefined || fileSize === undefined || c.isSwarm || !m.content.peers.includes(c.peerId!)) return;
  const manifest = makeStandardManifest({ fileId: m.content.file_id, fileName, fileSize, owner: c.peerId!, chunkSize: STANDARD_CHUNK_SIZE });
  catalog.addManifest(c.peerId!, manifest, { swarm: false, content: null, partial: false });
}
