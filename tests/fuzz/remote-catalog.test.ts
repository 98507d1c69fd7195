import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { chunkCount, MAX_LEAF_COUNT, MAX_RECEIVED_CHUNK_BYTES, validateStandardManifest } from '../../lib/transfer/manifest.ts';
import { RemoteCatalog } from '../../lib/transfer/remote-catalog.ts';
import { fuzzParams, withinHangBound } from '../support/fuzz.ts';

/**
 * What a received manifest makes the node allocate. A partial source (a swarm peer still downloading)
 * gets a bitfield of one bit per chunk, sized from the manifest the peer sent: it must stay bounded
 * whatever the manifest claims.
 */

const PEER = 'sd-' + 'e'.repeat(40);
const FILE_ID = 'ef'.repeat(32);

function manifest(fileSize: number, chunkSize: number) {
  const checked = validateStandardManifest({
    file_id: FILE_ID,
    file_name: 'x',
    file_size: fileSize,
    chunk_size: chunkSize,
    chunk_count: chunkCount(fileSize, chunkSize),
    checksum: FILE_ID,
    owner: PEER,
  });
  if (!checked.ok) throw new Error(checked.reason);
  return checked.manifest;
}

describe('remote catalog fed hostile partial manifests', () => {
  it('regression (fuzz finding): a partial manifest with one chunk more than MAX_LEAF_COUNT is refused, not allocated', () => {
    // Found by the property below, minimal counterexample {fileSize: 4194305, chunkSize: 1, partial: true}:
    // the catalog made a bitfield of one bit per claimed chunk, so 2^32 one-byte chunks cost 512 MiB
    // per file id, and 2^53-1 threw out of the manifest handler.
    const catalog = new RemoteCatalog();
    expect(catalog.addManifest(PEER, manifest(MAX_LEAF_COUNT + 1, 1), { swarm: true, content: null, partial: true })).toBe(false);
    expect(catalog.addManifest(PEER, manifest(MAX_LEAF_COUNT, 1), { swarm: true, content: null, partial: true })).toBe(true);
    catalog.removePeer(PEER);
    expect(catalog.addManifest(PEER, manifest(Number.MAX_SAFE_INTEGER, 1), { swarm: true, content: null, partial: true })).toBe(false);
    expect(catalog.addManifest(PEER, manifest(2 ** 32, 1), { swarm: true, content: null, partial: true })).toBe(false);
    expect(catalog.get(FILE_ID)?.sources.size ?? 0).toBe(0);
  });

  it('keeps every partial source bitfield within MAX_LEAF_COUNT bits, and never throws', () => {
    const sizes = fc.record({
      fileSize: fc.oneof(fc.maxSafeNat(), fc.nat({ max: 2 ** 24 })),
      chunkSize: fc.oneof(fc.integer({ min: 1, max: 16 }), fc.integer({ min: 1, max: MAX_RECEIVED_CHUNK_BYTES })),
      partial: fc.boolean(),
    });
    fc.assert(
      fc.property(sizes, ({ fileSize, chunkSize, partial }) => {
        const catalog = new RemoteCatalog();
        withinHangBound(() => catalog.addManifest(PEER, manifest(fileSize, chunkSize), { swarm: true, content: null, partial }));
        for (const source of catalog.get(FILE_ID)?.sources.values() ?? []) {
          expect(source.have === null || source.have.length <= MAX_LEAF_COUNT).toBe(true);
        }
      }),
      fuzzParams(),
    );
  });
});
