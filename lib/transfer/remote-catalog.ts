import { Bitfield } from './bitfield.ts';
import { chunkCount, MAX_LEAF_COUNT } from './manifest.ts';
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

/** A manifest whose size disagrees with the one in use for its file id, kept in case the majority turns. */
interface RivalClaim {
  manifest: StandardManifest;
  options: ManifestOptions;
}

type ManifestOptions = { swarm: boolean; content: ContentInfo | null; partial: boolean };

/**
 * Manifests can lie about a file's size (the hash names the content, but only the whole download
 * proves it). Of the sizes claimed for one file id, the catalog uses the one most sources claim (the
 * first on a tie) and keeps the others aside: one liar announcing first cannot hide the honest
 * sources, and when the sources of the size in use leave, the next claim takes over.
 */
export class RemoteCatalog extends Emitter<CatalogEvents> {
  #files = new Map<string, RemoteFile>();
  /** Per file id, per peer: claims of another size than the one in use. */
  #rivals = new Map<string, Map<string, RivalClaim>>();

  get(fileId: string): RemoteFile | undefined {
    return this.#files.get(fileId);
  }

  list(): RemoteFile[] {
    return [...this.#files.values()].filter((f) => f.sources.size > 0);
  }

  /**
   * Records a manifest from `peerId`. `partial` marks a swarm peer that is still downloading. Returns
   * false when the manifest is not taken: a partial source with more chunks than MAX_LEAF_COUNT would
   * make us allocate a bitfield as large as the peer cares to claim.
   */
  addManifest(peerId: string, manifest: StandardManifest, options: ManifestOptions): boolean {
    if (options.partial && manifest.chunk_count > MAX_LEAF_COUNT) return false;
    let file = this.#files.get(manifest.file_id);
    if (!file) {
      file = { fileId: manifest.file_id, fileName: manifest.file_name, fileSize: manifest.file_size, sources: new Map() };
      this.#files.set(manifest.file_id, file);
    }
    if (file.fileSize !== manifest.file_size) {
      // One of the two sizes is a lie: set this claim aside, and use it if more sources back it.
      if (file.sources.delete(peerId)) this.emit('source-gone', file.fileId, peerId);
      this.#rivalsOf(file.fileId).set(peerId, { manifest, options });
      this.#electSize(file);
      return false;
    }
    this.#rivals.get(file.fileId)?.delete(peerId);
    this.#addSource(file, peerId, manifest, options);
    return true;
  }

  #addSource(file: RemoteFile, peerId: string, manifest: StandardManifest, options: ManifestOptions): void {
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
    this.#rivals.get(fileId)?.delete(peerId);
    if (!file?.sources.delete(peerId)) return;
    this.emit('source-gone', fileId, peerId);
    this.#electSize(file);
  }

  removePeer(peerId: string): void {
    for (const file of this.#files.values()) this.removeSource(file.fileId, peerId);
  }

  #rivalsOf(fileId: string): Map<string, RivalClaim> {
    let rivals = this.#rivals.get(fileId);
    if (!rivals) this.#rivals.set(fileId, (rivals = new Map()));
    return rivals;
  }

  /** Switches the file to the size most set-aside claims back, when they outnumber the sources in use. */
  #electSize(file: RemoteFile): void {
    const rivals = this.#rivals.get(file.fileId);
    if (!rivals?.size) return;
    const bySize = new Map<number, string[]>();
    for (const [peerId, claim] of rivals) bySize.set(claim.manifest.file_size, [...(bySize.get(claim.manifest.file_size) ?? []), peerId]);
    const [size, backers] = [...bySize].sort((a, b) => b[1].length - a[1].length)[0]!;
    if (backers.length <= file.sources.size) return;
    // The sources in use become the set-aside claim of their size.
    for (const source of [...file.sources.values()]) {
      const manifest = { file_id: file.fileId, file_name: source.fileName, file_size: file.fileSize, chunk_size: source.chunkSize, chunk_count: chunkCount(file.fileSize, source.chunkSize), checksum: file.fileId, owner: source.peerId };
      rivals.set(source.peerId, { manifest, options: { swarm: source.swarm, content: source.content, partial: !source.hasAll } });
      file.sources.delete(source.peerId);
      this.emit('source-gone', file.fileId, source.peerId);
    }
    file.fileSize = size;
    for (const peerId of backers) {
      const claim = rivals.get(peerId)!;
      rivals.delete(peerId);
      file.fileName = claim.manifest.file_name;
      this.#addSource(file, peerId, claim.manifest, claim.options);
    }
  }
}
