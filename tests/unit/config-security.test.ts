import { describe, expect, it } from 'vitest';
import { ConfigError, helpText, parseConfig } from '../../bootstrap-node/config.ts';

const run = (argv: string[]) => {
  const parsed = parseConfig(argv, {});
  if (parsed.kind !== 'run') throw new Error('expected a run config');
  return parsed.config;
};

describe('flags for private swarms', () => {
  it('collects --allow (repeatable) and --no-reshare, both off by default', () => {
    expect(run([])).toMatchObject({ allow: [], noReshare: false, apiHost: '127.0.0.1' });
    const config = run(['--allow', 'sd-' + 'a'.repeat(40), '--allow', '3bfa49ec-5bc1-4c5e-a95d-dfe8163596ba-2efb4368a1b2c3d4', '--no-reshare']);
    expect(config.allow).toEqual(['sd-' + 'a'.repeat(40), '3bfa49ec-5bc1-4c5e-a95d-dfe8163596ba-2efb4368a1b2c3d4']);
    expect(config.noReshare).toBe(true);
  });

  it('refuses an --allow value that cannot be a peer id', () => {
    for (const bad of ['', 'has space', 'x'.repeat(257), 'tab\there']) {
      expect(() => run(['--allow', bad]), JSON.stringify(bad)).toThrow(ConfigError);
    }
  });

  it('documents the flags in --help', () => {
    const help = helpText();
    expect(help).toMatch(/--allow PEER_ID .*repeatable/);
    expect(help).toMatch(/--no-reshare .*downloads/);
    expect(help).toMatch(/--api-host ADDR .*token/);
  });
});
