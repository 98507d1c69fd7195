import type { ButtonHTMLAttributes } from 'react';

type Tone = 'primary' | 'plain' | 'danger';

const TONES: Record<Tone, string> = {
  primary: 'bg-sky-600 text-white hover:bg-sky-700 disabled:bg-sky-300',
  plain:
    'border border-slate-300 bg-white text-slate-700 hover:bg-slate-50 disabled:text-slate-400 dark:border-slate-600 dark:bg-slate-800 dark:text-slate-200 dark:hover:bg-slate-700',
  danger:
    'border border-rose-300 bg-white text-rose-700 hover:bg-rose-50 dark:border-rose-700 dark:bg-slate-800 dark:text-rose-300',
};

export function Button({
  tone = 'plain',
  className = '',
  ...props
}: ButtonHTMLAttributes<HTMLButtonElement> & { tone?: Tone }) {
  return (
    <button
      type="button"
      {...props}
      className={`rounded-md px-2.5 py-1 text-sm font-medium focus-visible:outline-2 focus-visible:outline-offset-2 focus-visible:outline-sky-500 disabled:cursor-not-allowed ${TONES[tone]} ${className}`}
    />
  );
}

/**
 * Runs a dashboard action. A failed action already shows up as a notice from the peer
 * (DashboardActions' contract), so the rejection is only kept off the console's unhandled list.
 */
export function act(action: Promise<unknown>): void {
  action.catch(() => undefined);
}
