import type { ReactNode } from 'react';
import './globals.css';

// Not typed with next's Metadata: importing `next` types into the repository's one tsconfig would
// make NODE_ENV a required key of every process.env object, Node code and tests included.
// Next adds the responsive viewport meta tag by default.
export const metadata = {
  title: 'swarmdrop',
  description: 'Peer-to-peer chat and file sharing: this tab is a peer of the swarm',
};

export default function RootLayout({ children }: { children: ReactNode }) {
  return (
    <html lang="en">
      <body className="min-h-screen bg-slate-50 text-slate-900 antialiased dark:bg-slate-950 dark:text-slate-100">
        {children}
      </body>
    </html>
  );
}
