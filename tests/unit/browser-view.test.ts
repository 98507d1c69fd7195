import { describe, expect, it } from 'vitest';
import { Notices, plainTransferError } from '../../lib/browser/notices.ts';
import { chatViews, transferView } from '../../lib/browser/view-builder.ts';
import type { HistoryEntry } from '../../lib/peer/message-history.ts';
import type { TransferRecord } from '../../lib/transfer/transfer-record.ts';

const ME = 'sd-me';
const THEM = 'sd-them';

function text(direction: 'incoming' | 'outgoing', sender: string, recipient: string | null, body: string): HistoryEntry {
  const payload = { message_id: `${body}-id`, sender_id: sender, recipient_id: recipient, timestamp: 1, content: { text: body } };
  return { direction, payload, at: 1000, status: direction === 'incoming' ? 'received' : 'sent' };
}

function record(overrides: Partial<TransferRecord> = {}): TransferRecord {
  return {
    transfer_id: 't1', file_id: 'f'.repeat(64), file_name: 'a.bin', file_size: 4 * 65536, chunk_size: 65536, chunk_count: 4,
    destination: null, started_at: 0, completed_at: null, status: 'running', bytes_received: 2 * 65536, chunks_completed: 2,
    peers_used: [], error: null, content_root: null, ...overrides,
  };
}

describe('dashboard views', () => {
  it('puts each chat message in its conversation, oldest first', () => {
    const views = chatViews(
      [text('outgoing', ME, THEM, 'reply'), text('incoming', THEM, ME, 'direct'), text('incoming', THEM, null, 'to all')],
      ME,
    );
    expect(views.map((v) => [v.text, v.conversation])).toEqual([
      ['to all', null],
      ['direct', THEM],
      ['reply', THEM],
    ]);
  });

  it('maps each chunk to the peer that sent it, counts pieces from before a reload as our own, and gives an ETA', () => {
    const view = transferView(record(), {
      peers: [{ peer_id: THEM, bytes: 65536, chunks: 1, speed_bps: 65536, timeouts: 0, redundant_chunks: 0, bad_chunks: 0, banned: false, ban_reason: null }],
      pieceSources: new Map([[1, THEM]]),
      held: (i) => i <= 1,
      ownId: ME,
      canSave: false,
    });
    expect(view.chunkSources).toEqual([ME, THEM]);
    expect(view.chunkMap).toEqual([0, 1, -1, -1]);
    expect(view.speedBps).toBe(65536);
    expect(view.etaSeconds).toBe(2);
  });

  it('shows a paused transfer as paused, without speed or ETA', () => {
    const view = transferView(record({ paused: true }), { peers: [], pieceSources: undefined, held: undefined, ownId: ME, canSave: false });
    expect(view).toMatchObject({ status: 'paused', speedBps: 0, etaSeconds: null });
  });

  it('words transfer failures so a person knows what to do', () => {
    expect(plainTransferError('disk full while writing: the browser storage quota is reached')).toMatch(/ran out of storage/);
    expect(plainTransferError('the assembled file does not match its SHA-256 file id (x); a source sent bad data')).toMatch(/failed verification/);
    expect(plainTransferError('no usable source for 30 s (no connected peer has the missing chunks)')).toMatch(/No connected peer has the rest/);
  });

  it('replaces a notice with the same key and dismisses by id', () => {
    let changes = 0;
    const notices = new Notices(() => changes++);
    notices.show('bootstrap', 'error', 'first');
    const id = notices.show('bootstrap', 'error', 'second');
    notices.show('peer-gone:x', 'info', 'gone');
    expect(notices.list().map((n) => n.text)).toEqual(['second', 'gone']);
    notices.dismiss(id);
    notices.clear('peer-gone:x');
    expect(notices.list()).toEqual([]);
    expect(changes).toBe(5);
  });
});
