'use client';
import { useState } from 'react';
import type { FormEvent } from 'react';
import { BOOTSTRAP_QUERY_PARAM, bootstrapUrlProblem } from '../peer/bootstrap-url.ts';
import { TEST_IDS } from '../test-ids.ts';
import { act, Button } from '../ui/button.tsx';
import { Panel } from '../ui/panel.tsx';

interface SettingsProps {
  /** The address the peer uses now. */
  bootstrapUrl: string;
  /** The node that served this page: what "Use this node" goes back to. */
  servingNodeUrl: string;
  /** Switches the bootstrap; null goes back to the serving node (and forgets the saved choice). */
  onBootstrap(url: string | null): Promise<void>;
}

export function SettingsPanel(props: SettingsProps) {
  // Remount on a new URL from the peer so the box shows what is in use, not a stale edit.
  return <BootstrapForm key={props.bootstrapUrl} {...props} />;
}

function BootstrapForm({ bootstrapUrl, servingNodeUrl, onBootstrap }: SettingsProps) {
  const [text, setText] = useState(bootstrapUrl);
  const typed = text.trim();
  const problem = typed === '' ? null : bootstrapUrlProblem(typed);
  const submit = (event: FormEvent) => {
    event.preventDefault();
    if (problem || typed === '' || typed === bootstrapUrl) return;
    act(onBootstrap(typed));
  };
  return (
    <Panel title="Settings" testId={TEST_IDS.panelSettings}>
      <form onSubmit={submit} className="space-y-2 text-sm">
        <label htmlFor="bootstrap-url" className="block font-medium">
          Bootstrap address
        </label>
        <div className="flex gap-2">
          <input
            id="bootstrap-url"
            data-testid={TEST_IDS.bootstrapInput}
            value={text}
            onChange={(event) => setText(event.target.value)}
            aria-invalid={problem !== null}
            aria-describedby="bootstrap-help"
            spellCheck={false}
            className="min-w-0 flex-1 rounded-md border border-slate-300 bg-white px-2 py-1 font-mono text-xs focus:border-sky-500 focus:outline-none aria-[invalid=true]:border-rose-500 dark:border-slate-600 dark:bg-slate-800"
          />
          <Button
            type="submit"
            tone="primary"
            data-testid={TEST_IDS.bootstrapApply}
            disabled={problem !== null || typed === '' || typed === bootstrapUrl}
          >
            Use
          </Button>
        </div>
        <p
          id="bootstrap-help"
          className={`text-xs ${problem ? 'text-rose-700 dark:text-rose-400' : 'text-slate-500 dark:text-slate-400'}`}
        >
          {problem ??
            `The node this tab joins the swarm through; your choice is remembered in this browser. Add ?${BOOTSTRAP_QUERY_PARAM}=ws://host:port/signal to the page address to use another for one visit.`}
        </p>
        {bootstrapUrl !== servingNodeUrl && (
          <Button data-testid={TEST_IDS.bootstrapReset} onClick={() => act(onBootstrap(null))}>
            Use the node that served this page
          </Button>
        )}
      </form>
    </Panel>
  );
}
