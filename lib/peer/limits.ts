/**
 * Limits that keep one hostile or broken remote from starving the honest ones, each with its unit and
 * the reason for the number. Every limit, when hit, is logged with the remote and the reason.
 */

/**
 * Open connections (TCP peer port, and `/signal` WebSockets) from one IP address at a time. A host
 * runs a handful of peers at most (several behind one NAT address, or a test swarm of 20 nodes on
 * loopback, each with up to two links to us while duplicates settle): 64 leaves room for all of them,
 * while a slow-loris opening thousands of idle sockets is refused at the door instead of holding
 * file descriptors until each handshake timeout.
 */
export const MAX_CONNECTIONS_PER_ADDRESS = 64;

/**
 * JSON messages per second accepted from one connection, sustained, with bursts of twice that. The
 * busiest honest sender is a downloader: swarm requests cover 256 KiB to 1 MiB (download-deps.ts), so
 * even 1 GB/s from one peer is at most ~4,000 requests/s, and standard peers ask for 1 MiB chunks;
 * chat, pings and batched have-announcements are far below. Binary chunk frames are not counted: their cost is bounded by the
 * transfer engine. Over the rate, messages are dropped (logged once per episode); a remote that keeps
 * sending a whole second's allowance over the rate within a second is closed as a flood.
 */
export const PEER_MESSAGES_PER_SECOND = 5_000;
export const PEER_BURST_MESSAGES = 10_000;

/**
 * Frames waiting to be sent on one connection while its remote keeps sending to us. The chunk server
 * keeps only a few bulk frames queued per peer (it awaits each send), and control and chat replies
 * come one per message received: thousands waiting means the remote sends (pings, requests) without
 * reading a single answer, and every one of its messages would grow our memory. The connection is
 * closed instead.
 */
export const MAX_QUEUED_FRAMES_PER_CONNECTION = 4_096;
