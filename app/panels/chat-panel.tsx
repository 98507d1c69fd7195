'use client';
import { useEffect, useRef, useState } from 'react';
import type { FormEvent } from 'react';
import type { ChatMessageView, DashboardActions, PeerView } from '../../lib/browser/view.ts';
import { TEST_IDS } from '../test-ids.ts';
import { Button } from '../ui/button.tsx';
import { formatTime, shortId } from '../ui/format.ts';
import { EmptyNote, Panel } from '../ui/panel.tsx';

/** The protocol's limit on a chat text (STANDARD-PROTOCOL.md), so the input refuses more up front. */
const MAX_MESSAGE_CHARS = 10_000;
const BROADCAST = 'broadcast';

export function ChatPanel({
  messages,
  peers,
  selfId,
  conversation,
  onConversation,
  actions,
}: {
  messages: ChatMessageView[];
  peers: PeerView[];
  selfId: string;
  /** null: broadcast; otherwise the peer id of the direct conversation shown. */
  conversation: string | null;
  onConversation(peerId: string | null): void;
  actions: DashboardActions;
}) {
  const shown = messages.filter((message) => message.conversation === conversation);
  const partners = conversationPartners(messages, peers, conversation);
  const nameOf = (peerId: string) => peers.find((peer) => peer.peerId === peerId)?.name ?? shortId(peerId);
  return (
    <Panel title="Chat" testId={TEST_IDS.panelChat} className="flex min-h-[24rem] flex-col">
      <div role="tablist" aria-label="Conversations" className="mb-3 flex gap-1 overflow-x-auto pb-1">
        <ConversationTab
          id={null}
          label="Everyone"
          selected={conversation === null}
          onSelect={onConversation}
        />
        {partners.map((peerId) => (
          <ConversationTab
            key={peerId}
            id={peerId}
            label={nameOf(peerId)}
            selected={conversation === peerId}
            onSelect={onConversation}
          />
        ))}
      </div>
      <MessageList
        messages={shown}
        selfId={selfId}
        nameOf={nameOf}
        empty={
          conversation === null
            ? 'No messages to everyone yet.'
            : `No messages with ${nameOf(conversation)} yet.`
        }
      />
      <Composer
        key={conversation ?? BROADCAST}
        to={conversation}
        label={conversation === null ? 'Message everyone' : `Message ${nameOf(conversation)}`}
        actions={actions}
      />
    </Panel>
  );
}

/** Everyone we have a conversation with, plus online peers, plus the open one. */
function conversationPartners(messages: ChatMessageView[], peers: PeerView[], open: string | null): string[] {
  const ids = new Set<string>();
  for (const message of messages) if (message.conversation) ids.add(message.conversation);
  for (const peer of peers) if (peer.status === 'online') ids.add(peer.peerId);
  if (open) ids.add(open);
  return [...ids];
}

function ConversationTab({
  id,
  label,
  selected,
  onSelect,
}: {
  id: string | null;
  label: string;
  selected: boolean;
  onSelect(id: string | null): void;
}) {
  return (
    <button
      type="button"
      role="tab"
      aria-selected={selected}
      data-testid={TEST_IDS.chatConversation}
      data-conversation={id ?? BROADCAST}
      onClick={() => onSelect(id)}
      className={`shrink-0 rounded-full px-3 py-1 text-sm focus-visible:outline-2 focus-visible:outline-sky-500 ${
        selected
          ? 'bg-sky-600 text-white'
          : 'bg-slate-100 text-slate-700 hover:bg-slate-200 dark:bg-slate-800 dark:text-slate-200'
      }`}
    >
      {label}
    </button>
  );
}

function MessageList({
  messages,
  selfId,
  nameOf,
  empty,
}: {
  messages: ChatMessageView[];
  selfId: string;
  nameOf(id: string): string;
  empty: string;
}) {
  const end = useRef<HTMLLIElement>(null);
  // Braces: the effect must return nothing. Chromium's scrollIntoView now returns a promise, which React
  // would take for a clean-up function and call (a crash on the next message).
  useEffect(() => {
    void end.current?.scrollIntoView({ block: 'nearest' });
  }, [messages.length]);
  if (messages.length === 0)
    return (
      <div className="flex-1">
        <EmptyNote>{empty}</EmptyNote>
      </div>
    );
  return (
    <ol aria-live="polite" aria-label="Messages" className="max-h-96 flex-1 space-y-2 overflow-y-auto pr-1">
      {messages.map((message) => {
        const outgoing = message.direction === 'outgoing';
        return (
          <li
            key={message.messageId}
            data-testid={TEST_IDS.chatMessage}
            data-message-id={message.messageId}
            data-direction={message.direction}
            data-status={message.status}
            className={`flex flex-col ${outgoing ? 'items-end' : 'items-start'}`}
          >
            <span className="text-xs text-slate-500 dark:text-slate-400">
              {outgoing || message.senderId === selfId ? 'You' : nameOf(message.senderId)} ·{' '}
              {formatTime(message.timestamp)}
            </span>
            <span
              data-testid={TEST_IDS.chatMessageText}
              className={`max-w-[85%] whitespace-pre-wrap break-words rounded-2xl px-3 py-1.5 text-sm ${
                outgoing
                  ? 'bg-sky-600 text-white'
                  : 'bg-slate-100 text-slate-900 dark:bg-slate-800 dark:text-slate-100'
              }`}
            >
              {message.text}
            </span>
            {outgoing && <DeliveryMark status={message.status} />}
          </li>
        );
      })}
      <li ref={end} aria-hidden />
    </ol>
  );
}

function DeliveryMark({ status }: { status: ChatMessageView['status'] }) {
  const delivered = status === 'delivered';
  return (
    <span
      className={`text-xs ${delivered ? 'text-emerald-600 dark:text-emerald-400' : 'text-slate-400'}`}
      title={delivered ? 'delivered' : 'sent, not yet confirmed'}
    >
      {delivered ? '✓✓ delivered' : '✓ sent'}
    </span>
  );
}

function Composer({ to, label, actions }: { to: string | null; label: string; actions: DashboardActions }) {
  const [text, setText] = useState('');
  const [sending, setSending] = useState(false);
  const submit = (event: FormEvent) => {
    event.preventDefault();
    const sent = text.trim();
    if (!sent || sending) return;
    setSending(true);
    // The text stays in the box until the peer took it: a failure (shown as a notice) loses nothing.
    actions
      .sendMessage(sent, to)
      .then(
        () => setText((current) => (current.trim() === sent ? '' : current)),
        () => undefined,
      )
      .finally(() => setSending(false));
  };
  return (
    <form onSubmit={submit} className="mt-3 flex gap-2">
      <label className="sr-only" htmlFor="chat-input">
        {label}
      </label>
      <input
        id="chat-input"
        data-testid={TEST_IDS.chatInput}
        value={text}
        maxLength={MAX_MESSAGE_CHARS}
        onChange={(event) => setText(event.target.value)}
        placeholder={label}
        autoComplete="off"
        className="min-w-0 flex-1 rounded-md border border-slate-300 bg-white px-3 py-1.5 text-sm focus:border-sky-500 focus:outline-none dark:border-slate-600 dark:bg-slate-800"
      />
      <Button type="submit" tone="primary" data-testid={TEST_IDS.chatSend} disabled={!text.trim() || sending}>
        Send
      </Button>
    </form>
  );
}
