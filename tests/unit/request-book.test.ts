import { describe, expect, it } from 'vitest';
import { MAX_LATE_PER_PEER, RequestBook, type ChunkRequest } from '../../lib/transfer/request-book.ts';

function request(peerId: string, chunkIndex: number, firstPiece: number, lastPiece: number): ChunkRequest {
  return { peerId, chunkIndex, firstPiece, lastPiece, bytes: 1, sentAt: 0, deadline: 10 };
}

describe('RequestBook', () => {
  it('indexes requests by peer and chunk, by piece, and in the order they were sent', () => {
    const book = new RequestBook(32);
    const big = request('std', 1, 16, 31);
    const small = request('swarm', 20, 20, 20);
    book.add(big);
    book.add(small);
    expect(book.size).toBe(2);
    expect(book.get('std', 1)).toBe(big);
    expect(book.count(20)).toBe(2);
    expect(book.count(21)).toBe(1);
    expect(book.count(0)).toBe(0);
    expect(book.covering(20)).toEqual([big, small]);
    expect([...book.all()]).toEqual([big, small]);
    expect(() => book.add(request('std', 1, 16, 31))).toThrow(/already requested/);
    expect(book.take('std', 1)).toBe(big);
    expect(book.take('std', 1)).toBeUndefined();
    expect(book.count(21)).toBe(0);
    expect(book.covering(20)).toEqual([small]);
  });

  it('recognises a late answer once, and forgets the oldest beyond its bound', () => {
    const book = new RequestBook(MAX_LATE_PER_PEER + 1);
    book.expectLate(request('a', 3, 3, 3));
    expect(book.takeLate('b', 3)).toBe(false);
    expect(book.takeLate('a', 3)).toBe(true);
    expect(book.takeLate('a', 3)).toBe(false);
    for (let chunk = 0; chunk <= MAX_LATE_PER_PEER; chunk++)
      book.expectLate(request('a', chunk, chunk, chunk));
    expect(book.takeLate('a', 0)).toBe(false);
    expect(book.takeLate('a', MAX_LATE_PER_PEER)).toBe(true);
  });

  it('a new request for the same chunk replaces the late expectation; dropPeer forgets a peer', () => {
    const book = new RequestBook(8);
    book.expectLate(request('a', 2, 2, 2));
    book.add(request('a', 2, 2, 2));
    expect(book.takeLate('a', 2)).toBe(false);
    book.add(request('a', 3, 3, 3));
    book.expectLate(request('a', 5, 5, 5));
    expect(book.dropPeer('a').map((r) => r.chunkIndex)).toEqual([2, 3]);
    expect(book.size).toBe(0);
    expect(book.takeLate('a', 5)).toBe(false);
  });
});
