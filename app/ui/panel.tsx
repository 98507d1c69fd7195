import type { ReactNode } from 'react';

/** A titled card; `testId` names the panel for tests and screenshots, `titleId` labels the region. */
export function Panel({
  title,
  testId,
  actions,
  children,
  className = '',
}: {
  title: string;
  testId: string;
  actions?: ReactNode;
  children: ReactNode;
  className?: string;
}) {
  const titleId = `${testId}-title`;
  return (
    <section
      aria-labelledby={titleId}
      data-testid={testId}
      className={`rounded-xl border border-slate-200 bg-white p-4 shadow-sm dark:border-slate-700 dark:bg-slate-900 ${className}`}
    >
      <header className="mb-3 flex items-center justify-between gap-2">
        <h2
          id={titleId}
          className="text-sm font-semibold uppercase tracking-wide text-slate-600 dark:text-slate-300"
        >
          {title}
        </h2>
        {actions}
      </header>
      {children}
    </section>
  );
}

export function EmptyNote({ children }: { children: ReactNode }) {
  return <p className="text-sm text-slate-500 dark:text-slate-400">{children}</p>;
}
