/** ICE: the STUN/TURN servers we are configured with, and the candidate pair a connection ended up on. */

export type CandidateInfo = { address: string; port: number; type: string };
export type SelectedCandidatePair = { local: CandidateInfo; remote: CandidateInfo };

/** The selected ICE candidate pair from getStats (standard `address`, or the older `ip` that node-datachannel reports). */
export async function selectedCandidatePair(pc: RTCPeerConnection): Promise<SelectedCandidatePair | null> {
  const report = await pc.getStats();
  const stats = new Map<string, Record<string, unknown>>();
  report.forEach((s: Record<string, unknown>) => stats.set(String(s.id), s));
  let pair: Record<string, unknown> | undefined;
  for (const s of stats.values()) {
    if (s.type === 'transport' && typeof s.selectedCandidatePairId === 'string')
      pair = stats.get(s.selectedCandidatePairId);
  }
  // Firefox has no selectedCandidatePairId: take the nominated pair that succeeded.
  pair ??= [...stats.values()].find(
    (s) => s.type === 'candidate-pair' && s.nominated && s.state === 'succeeded',
  );
  const info = (id: unknown): CandidateInfo | null => {
    const c = stats.get(String(id));
    const address = c?.address ?? c?.ip;
    if (typeof address !== 'string' || typeof c?.port !== 'number') return null;
    return { address, port: c.port, type: String(c.candidateType ?? 'unknown') };
  };
  const local = info(pair?.localCandidateId);
  const remote = info(pair?.remoteCandidateId);
  return local && remote ? { local, remote } : null;
}

/**
 * Parses an --ice-server value: "stun:host[:port]", or "turn:USER:PASS@host[:port][?transport=udp|tcp]"
 * (also stuns:/turns:). USER and PASS may be percent-encoded (for ':' or '@' inside them).
 */
export function parseIceServerUrl(url: string): RTCIceServer {
  // Errors end up in logs: never repeat the password.
  const shown = url.replace(/^(\s*turns?:[^:@]*:)[^@]*@/i, '$1***@');
  const bad = (why: string): TypeError =>
    new TypeError(
      `invalid ICE server "${shown}": ${why} (expected stun:host:port or turn:USER:PASS@host:port)`,
    );
  const scheme = /^(stuns?|turns?):(.+)$/i.exec(url.trim());
  if (!scheme) throw bad('it must start with stun:, stuns:, turn: or turns:');
  const kind = scheme[1]!.toLowerCase();
  let rest = scheme[2]!;
  let credentials: { username: string; credential: string } | null = null;
  const at = rest.lastIndexOf('@');
  if (at >= 0) {
    if (kind.startsWith('stun')) throw bad('a STUN server takes no credentials');
    const userPass = rest.slice(0, at);
    const colon = userPass.indexOf(':');
    if (colon <= 0 || colon === userPass.length - 1)
      throw bad('TURN credentials must be USER:PASS, both non-empty');
    try {
      credentials = {
        username: decodeURIComponent(userPass.slice(0, colon)),
        credential: decodeURIComponent(userPass.slice(colon + 1)),
      };
    } catch {
      throw bad('the credentials are not valid percent-encoding');
    }
    rest = rest.slice(at + 1);
  } else if (kind.startsWith('turn')) {
    throw bad('a TURN server needs credentials');
  }
  const host = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+)(?::(\d{1,5}))?(\?transport=(?:udp|tcp))?$/.exec(rest);
  if (!host) throw bad('the host must be a name or address, optionally with :port');
  if (host[2] !== undefined && !(Number(host[2]) >= 1 && Number(host[2]) <= 65_535)) {
    throw bad('the port must be from 1 to 65535');
  }
  const urls = `${kind}:${rest}`;
  return credentials ? { urls, ...credentials } : { urls };
}
