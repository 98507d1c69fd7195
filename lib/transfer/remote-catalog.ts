import { Bitfield } from './bitfield.ts';
import { chunkCount } from './manifest.ts';
import type { ContentInfo, StandardManifest } from './manifest.ts';
import { Emitter } from '../util/emitter.ts';

/**
 * What the peers we are connected to offer: per file id, the manifest facts and, per source peer,
 * the chunk size it announced, whether it holds the whole file or only the chunks it listed in
 * `have` messages, and the content root when it is a swarm peer.
 */
export interface Source {
  peerId: string;
  chunkSize: number;
  /** A seeder; false for a peer still downloading (its chunks arrive as `have`). */
  hasAll: boolean;
  /** Chunks held, counted in chunkSize, for a partial source. */
  have: Bitfield | null;
  swarm: boolean;
  content: ContentInfo | null;
  fileName: string;
}

export interface RemoteFile {
  fileId: string;
  fileName: string;
  fileSize: number;
  sources: Map<string, Source>;
}

export type CatalogEvents = {
  /** A source appeared, changed (e.g. became a seeder) or learned new chunks. */
  source: (fileId: string, source: Source, newChunks: number[]) => void;
  'source-gone': (fileId: string, peerId: string) => void;
};

export class RemoteCatalog extends Emitter<CatalogEvents> {
  #files = new Map<string, RemoteFile>();

  get(fileId: string): RemoteFile | undefined {
    return this.#files.get(fileId);
  }

  list(): RemoteFile[] {
    return [...this.#files.values()].filter((f) => f.sources.size > 0);
  }

  /** Records a manifest from `peerId`. `partial` marks a swarm peer that is still downloading. */
  addManifest(peerId: string, manifest: StandardManifest, options: { swarm: boolean; content: ContentInfo | null; partial: boolean }): void {
    let file = this.#files.get(manifest.file_id);
    if (!file) {
      file = { fileId: manifest.file_id, fileName: manifest.file_name, fileSize: manifest.file_size, sources: new Map() };
      this.#files.set(manifest.file_id, file);
    }
    if (file.fileSize !== manifest.file_size) return; // a different size for one hash is a lie: keep the first
    const previous = file.sources.get(peerId);
    const source: Source = {
      peerId,
      chunkSize: manifest.chunk_size,
      hasAll: !options.partial,
      have: options.partial ? (previous?.chunkSize === manifest.chunk_size ? previous.have : null) : null,
      swarm: options.swarm,
      content: options.content,
      fileName: manifest.file_name,
    };
    if (source.have === null && options.partial) source.have = new Bitfield(chunkCount(file.fileSize, source.chunkSize));
    file.sources.set(peerId, source);
    this.emit('source', file.fileId, source, []);
  }

  /** A partial source announced chunks. Returns false when the message does not fit what we know. */
  addHave(peerId: string, fileId: string, chunkSize: number, indexes: number[], bitfield: Uint8Array | null): boolean {
    const source = this.#files.get(fileId)?.sources.get(peerId);
    if (!source || source.hasAll || source.chunkSize !== chunkSize || !source.have) return false;
    const fresh: number[] = [];
    if (bitfield) {
      let incoming: Bitfield;
      try {
        incoming = Bitfield.fromBytes(bitfield, source.have.length);
      } catch {
        return false;
      }
      for (let i = 0; i < incoming.length; i++) if (incoming.get(i) && source.have.set(i)) fresh.push(i);
    }
    for (const index of indexes) {
      if (index >= source.have.length) return false;
      if (source.have.set(index)) fresh.push(index);
    }
    if (fresh.length) this.emit('source', fileId, source, fresh);
    return true;
  }

  removeSource(fileId: string, peerId: string): void {
    const file = this.#files.get(fileId);
    if (file?.sources.delete(peerId)) this.emit('source-gone', fileId, peerId);
  }

  removePeer(peerId: string): void {
    for (const file of this.#files.values()) {
      if (file.sources.delete(peerId)) this.emit('source-gone', file.fileId, peerId);
    }
  }
}
