import { describe, expect, it, vi } from 'vitest';
import {
  bootstrapUrlProblem,
  readSavedBootstrap,
  resolveBootstrapUrl,
  saveBootstrap,
} from '../../app/peer/bootstrap-url.ts';
import { standbySource } from '../../app/peer/standby-source.ts';
import { formatBytes, formatEta, percent } from '../../app/ui/format.ts';

describe('bootstrap address of a tab', () => {
  it('defaults to the signalling endpoint of the node that served the page', () => {
    expect(resolveBootstrapUrl({ protocol: 'http:', host: '127.0.0.1:8000', search: '' }, null)).toBe(
      'ws://127.0.0.1:8000/signal',
    );
    expect(resolveBootstrapUrl({ protocol: 'https:', host: 'example.test', search: '' }, null)).toBe(
      'wss://example.test/signal',
    );
  });

  it('prefers ?bootstrap=, then the address saved in settings', () => {
    const page = { protocol: 'http:', host: '127.0.0.1:8000' };
    const search = `?bootstrap=${encodeURIComponent('ws://127.0.0.1:9001/signal')}`;
    expect(resolveBootstrapUrl({ ...page, search }, 'ws://saved/signal')).toBe('ws://127.0.0.1:9001/signal');
    expect(resolveBootstrapUrl({ ...page, search: '' }, 'ws://saved/signal')).toBe('ws://saved/signal');
  });

  it('remembers and forgets the saved address, and survives a storage that throws', () => {
    const memory = new Map<string, string>();
    const storage = {
      getItem: (key: string) => memory.get(key) ?? null,
      setItem: (key: string, value: string) => void memory.set(key, value),
      removeItem: (key: string) => void memory.delete(key),
    };
    saveBootstrap(storage, 'ws://chosen/signal');
    expect(readSavedBootstrap(storage)).toBe('ws://chosen/signal');
    saveBootstrap(storage, null);
    expect(readSavedBootstrap(storage)).toBeNull();
    const denied = () => {
      throw new Error('denied');
    };
    const broken = { getItem: denied, setItem: denied, removeItem: denied };
    expect(readSavedBootstrap(broken)).toBeNull();
    expect(() => saveBootstrap(broken, 'ws://x/signal')).not.toThrow();
  });

  it('explains what is wrong with a typed address', () => {
    expect(bootstrapUrlProblem('ws://127.0.0.1:8000/signal')).toBeNull();
    expect(bootstrapUrlProblem('not a url')).toMatch(/not a web address/);
    expect(bootstrapUrlProblem('http://127.0.0.1:8000/signal')).toMatch(/ws:\/\//);
  });
});

describe('the view shown while no peer runs', () => {
  it('tells a start failure as an error notice and the bootstrap as unreachable', () => {
    const source = standbySource({
      bootstrapUrl: 'ws://x/signal',
      failure: new Error('boom'),
      restart: () => undefined,
    });
    const view = source.getSnapshot();
    expect(view.self.bootstrapState).toBe('unreachable');
    expect(view.notices).toHaveLength(1);
    expect(view.notices[0]!.level).toBe('error');
    expect(view.notices[0]!.text).toContain('boom');
  });

  it('refuses actions with one warning however often they are tried, and dismisses notices', async () => {
    const source = standbySource({ bootstrapUrl: 'ws://x/signal', failure: null, restart: () => undefined });
    const onChange = vi.fn();
    source.subscribe(onChange);
    await expect(source.sendMessage('hi', null)).rejects.toThrow(/still starting/);
    await expect(source.download('f')).rejects.toThrow(/still starting/);
    const { notices } = source.getSnapshot();
    expect(notices).toHaveLength(1);
    expect(onChange).toHaveBeenCalledTimes(1);
    source.dismissNotice(notices[0]!.id);
    expect(source.getSnapshot().notices).toHaveLength(0);
  });

  it('starts again from a new bootstrap address set in settings', async () => {
    const restart = vi.fn();
    const source = standbySource({ bootstrapUrl: 'ws://x/signal', failure: new Error('down'), restart });
    await source.setBootstrap('ws://y/signal');
    expect(restart).toHaveBeenCalledWith('ws://y/signal');
  });
});

describe('display formats', () => {
  it('uses binary units, ETA in words and clamped percentages', () => {
    expect(formatBytes(512)).toBe('512 B');
    expect(formatBytes(10 * 1024 * 1024)).toBe('10 MiB');
    expect(formatBytes(1.5 * 1024)).toBe('1.5 KiB');
    expect(formatEta(null)).toBe('—');
    expect(formatEta(75)).toBe('1 min 15 s');
    expect(percent(5, 0)).toBe(0);
    expect(percent(3, 4)).toBe(75);
    expect(percent(5, 4)).toBe(100);
  });
});
