'use client';
import type { DashboardActions, NoticeView } from '../../lib/browser/view.ts';
import { TEST_IDS } from '../test-ids.ts';

const LEVEL_STYLE: Record<NoticeView['level'], { box: string; word: string }> = {
  error: {
    box: 'border-rose-300 bg-rose-50 text-rose-900 dark:border-rose-800 dark:bg-rose-950 dark:text-rose-100',
    word: 'Problem',
  },
  warning: {
    box: 'border-amber-300 bg-amber-50 text-amber-900 dark:border-amber-800 dark:bg-amber-950 dark:text-amber-100',
    word: 'Warning',
  },
  info: {
    box: 'border-sky-300 bg-sky-50 text-sky-900 dark:border-sky-800 dark:bg-sky-950 dark:text-sky-100',
    word: 'Note',
  },
};

/** Problems a person can act on, in plain words, each until dismissed. Errors are announced at once. */
export function NoticesPanel({
  notices,
  actions,
}: {
  notices: NoticeView[];
  actions: Pick<DashboardActions, 'dismissNotice'>;
}) {
  return (
    <section data-testid={TEST_IDS.panelNotices} aria-label="Notices" className="space-y-2">
      {notices.map((notice) => {
        const style = LEVEL_STYLE[notice.level];
        return (
          <div
            key={notice.id}
            data-testid={TEST_IDS.notice}
            data-level={notice.level}
            role={notice.level === 'error' ? 'alert' : 'status'}
            className={`flex items-start gap-3 rounded-lg border px-4 py-3 text-sm ${style.box}`}
          >
            <p className="flex-1">
              <strong className="font-semibold">{style.word}: </strong>
              {notice.text}
            </p>
            <button
              type="button"
              data-testid={TEST_IDS.noticeDismiss}
              onClick={() => actions.dismissNotice(notice.id)}
              aria-label="Dismiss this notice"
              className="rounded px-1.5 text-lg leading-none opacity-70 hover:opacity-100 focus-visible:outline-2 focus-visible:outline-current"
            >
              ×
            </button>
          </div>
        );
      })}
    </section>
  );
}
