import { describe, expect, it } from 'vitest';
import {
  BAN_AFTER_BAD_CHUNKS,
  PeerScore,
  SCORE_BAD_CHUNK,
  SCORE_MAX,
  SCORE_TIMEOUT,
} from '../../lib/transfer/peer-score.ts';

describe('PeerScore', () => {
  it('rises by one per good chunk, up to the cap', () => {
    const score = new PeerScore();
    score.recordGood();
    expect(score.value).toBe(1);
    for (let i = 0; i < 100; i++) score.recordGood();
    expect(score.value).toBe(SCORE_MAX);
    expect(score.goodChunks).toBe(101);
  });

  it('lowers the score on a timeout without ever banning for timeouts', () => {
    const score = new PeerScore();
    for (let i = 0; i < 50; i++) score.recordTimeout();
    expect(score.value).toBe(50 * SCORE_TIMEOUT);
    expect(score.timeouts).toBe(50);
    expect(score.banned).toBe(false);
  });

  it(`bans at the ${BAN_AFTER_BAD_CHUNKS}rd bad chunk and says which chunks and why`, () => {
    const score = new PeerScore();
    for (let i = 0; i < SCORE_MAX; i++) score.recordGood();
    expect(score.recordBad(7, 'bad')).toBeUndefined();
    expect(score.recordBad(9, 'wrong-size')).toBeUndefined();
    expect(score.banned).toBe(false);
    const reason = score.recordBad(12, 'wrong-index');
    expect(reason).toBe(
      'banned after 3 bad chunks: chunk 7 failed verification; chunk 9 had the wrong size; chunk 12 was not requested',
    );
    expect(score.banned).toBe(true);
    expect(score.banReason).toBe(reason);
    expect(score.value).toBe(SCORE_MAX + 3 * SCORE_BAD_CHUNK);
  });

  it('reports the ban once; later bad chunks are still counted', () => {
    const score = new PeerScore(1);
    expect(score.recordBad(0, 'bad')).toContain('chunk 0 failed verification');
    expect(score.recordBad(1, 'bad')).toBeUndefined();
    expect(score.badChunks).toBe(2);
    expect(score.banReason).toContain('after 1 bad chunks');
  });

  it('keeps the first reason when banned twice', () => {
    const score = new PeerScore();
    score.ban('whole-file checksum mismatch');
    score.ban('something else');
    expect(score.banReason).toBe('whole-file checksum mismatch');
    expect(score.recordBad(3, 'bad')).toBeUndefined();
  });

  it('refuses a threshold below one', () => {
    expect(() => new PeerScore(0)).toThrow(RangeError);
    expect(() => new PeerScore(1.5)).toThrow(RangeError);
  });
});
