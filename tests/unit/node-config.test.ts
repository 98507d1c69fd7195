import { describe, expect, it } from 'vitest';
import { ConfigError, parseConfig } from '../../bootstrap-node/config.ts';

const run = (argv: string[]) => {
  const parsed = parseConfig(argv, {});
  if (parsed.kind !== 'run') throw new Error('expected a run configuration');
  return parsed.config;
};

describe('WebRTC flags', () => {
  it('takes TURN servers with credentials and --relay-only with one', () => {
    const config = run(['--ice-server', 'turn:swarm:drop@127.0.0.1:3478', '--ice-server', 'stun:127.0.0.1:3478', '--relay-only']);
    expect(config.iceServers).toEqual(['turn:swarm:drop@127.0.0.1:3478', 'stun:127.0.0.1:3478']);
    expect(config.relayOnly).toBe(true);
    expect(run([]).relayOnly).toBe(false);
  });

  it('refuses --relay-only without a TURN server', () => {
    expect(() => run(['--relay-only'])).toThrow(ConfigError);
    expect(() => run(['--relay-only', '--ice-server', 'stun:127.0.0.1:3478'])).toThrow('--relay-only needs a TURN server');
  });

  it('refuses a bad --ice-server at start, without repeating the password', () => {
    expect(() => run(['--ice-server', 'turn:127.0.0.1:3478'])).toThrow('needs credentials');
    const bad = () => run(['--ice-server', 'turn:alice:s3cret@bad host:1']);
    expect(bad).toThrow(ConfigError);
    expect(bad).toThrow('turn:alice:***@bad host:1');
    expect(bad).not.toThrow('s3cret');
  });
});
