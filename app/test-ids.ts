/**
 * The stable `data-testid`s of the dashboard: the e2e tests (tests/e2e/) and the screenshot script drive
 * the page through these alone, so renaming one is a change of contract. Rows also carry a data
 * attribute naming what they show (data-peer-id, data-file-id, data-transfer-id, data-message-id),
 * and state as data attributes (data-status, data-state, data-phase, data-level, data-direction).
 */
export const TEST_IDS = {
  /** The page root; data-phase = starting | ready | failed (the runtime could not start). */
  dashboard: 'dashboard',
  // status panel
  selfPeerId: 'self-peer-id',
  /** data-state = connecting | joined | unreachable | closed */
  bootstrapState: 'bootstrap-state',
  countPeersOnline: 'count-peers-online',
  countShared: 'count-shared',
  countSwarmFiles: 'count-swarm-files',
  countTransfers: 'count-transfers',
  // peers panel
  /** data-peer-id, data-status */
  peerRow: 'peer-row',
  peerConnect: 'peer-connect',
  peerDisconnect: 'peer-disconnect',
  /** Opens the direct conversation with this peer in the chat panel. */
  peerChat: 'peer-chat',
  // chat panel
  /** data-conversation = "broadcast" or a peer id; aria-selected on the open one */
  chatConversation: 'chat-conversation',
  chatInput: 'chat-input',
  chatSend: 'chat-send',
  /** data-message-id, data-direction = incoming | outgoing, data-status = sent | delivered | received */
  chatMessage: 'chat-message',
  chatMessageText: 'chat-message-text',
  // files panel
  fileInput: 'file-input',
  dropZone: 'drop-zone',
  /** data-file-id, data-state = hashing | shared | failed */
  sharedFileRow: 'shared-file-row',
  unshareButton: 'unshare-button',
  /** data-file-id, data-local = true | false, data-sources = space-separated peer ids offering it */
  swarmFileRow: 'swarm-file-row',
  downloadButton: 'download-button',
  // transfers panel
  /** data-transfer-id, data-file-id, data-status = pending | running | paused | completed | failed | cancelled */
  transferRow: 'transfer-row',
  /** role=progressbar with aria-valuenow = percent done */
  transferProgress: 'transfer-progress',
  transferStatus: 'transfer-status',
  transferPause: 'transfer-pause',
  transferResume: 'transfer-resume',
  transferCancel: 'transfer-cancel',
  saveButton: 'save-button',
  /** One per peer that supplied chunks of this transfer (the chunk map's legend); data-peer-id, data-chunks */
  transferSource: 'transfer-source',
  chunkMap: 'chunk-map',
  // notices
  /** data-level = error | warning | info */
  notice: 'notice',
  noticeDismiss: 'notice-dismiss',
  // settings
  bootstrapInput: 'settings-bootstrap-input',
  bootstrapApply: 'settings-bootstrap-apply',
  /** Shown when the bootstrap is not the serving node: goes back to it and forgets the saved choice. */
  bootstrapReset: 'settings-bootstrap-reset',
  // panels as wholes (screenshots)
  panelStatus: 'panel-status',
  panelPeers: 'panel-peers',
  panelChat: 'panel-chat',
  panelFiles: 'panel-files',
  panelTransfers: 'panel-transfers',
  panelNotices: 'panel-notices',
  panelSettings: 'panel-settings',
} as const;
