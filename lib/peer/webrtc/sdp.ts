/** Reading the SDP attribute lines we care about: DTLS fingerprints and ICE candidate addresses. */

/** The address of an ICE candidate line ("candidate:1 1 UDP 2114977791 127.0.0.1 5000 typ host"). */
export function candidateAddress(candidate: string): string | null {
  const fields = candidate
    .replace(/^a=/, '')
    .replace(/^candidate:/, '')
    .trim()
    .split(/\s+/);
  return fields[4] ?? null;
}

/** The type of an ICE candidate line: "host", "srflx", "prflx" or "relay" (null if it names none). */
export function candidateType(candidate: string): string | null {
  return / typ (\w+)/.exec(candidate)?.[1] ?? null;
}

/** The SDP without the a=candidate lines of other types than `keep` (candidates inside a description). */
export function sdpKeepingCandidates(sdp: string, keep: string): string {
  return sdp.replace(/^a=candidate:[^\r\n]*\r?\n/gm, (line) => (candidateType(line) === keep ? line : ''));
}

/**
 * The DTLS certificate fingerprints an SDP declares ("sha-256 AB:CD:..."), normalised and joined by
 * ", " when there are several (one per media section), or null when there is none.
 */
export function sdpFingerprints(sdp: string | null | undefined): string | null {
  const found = new Set<string>();
  for (const match of (sdp ?? '').matchAll(/^a=fingerprint:(\S+)\s+([0-9A-Fa-f:]+)\s*$/gm)) {
    found.add(`${match[1]!.toLowerCase()} ${match[2]!.toUpperCase()}`);
  }
  return found.size > 0 ? [...found].join(', ') : null;
}
