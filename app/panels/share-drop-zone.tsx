'use client';
import { useRef, useState } from 'react';
import type { DragEvent } from 'react';
import { TEST_IDS } from '../test-ids.ts';

/** Pick or drop one or many files; hands them over as File objects (nothing is read here). */
export function ShareDropZone({ onFiles }: { onFiles(files: File[]): void }) {
  const input = useRef<HTMLInputElement>(null);
  const [over, setOver] = useState(false);
  const onDrop = (event: DragEvent) => {
    event.preventDefault();
    setOver(false);
    const files = [...event.dataTransfer.files];
    if (files.length > 0) onFiles(files);
  };
  return (
    <div
      data-testid={TEST_IDS.dropZone}
      onDragOver={(event) => {
        event.preventDefault();
        setOver(true);
      }}
      onDragLeave={() => setOver(false)}
      onDrop={onDrop}
      className={`rounded-lg border-2 border-dashed px-4 py-5 text-center text-sm ${
        over ? 'border-sky-500 bg-sky-50 dark:bg-sky-950' : 'border-slate-300 dark:border-slate-600'
      }`}
    >
      <p className="text-slate-600 dark:text-slate-300">
        Drop files here or{' '}
        <button
          type="button"
          onClick={() => input.current?.click()}
          className="font-medium text-sky-700 underline hover:text-sky-800 focus-visible:outline-2 focus-visible:outline-sky-500 dark:text-sky-400"
        >
          choose files
        </button>{' '}
        to share them with the swarm.
      </p>
      <input
        ref={input}
        data-testid={TEST_IDS.fileInput}
        type="file"
        multiple
        className="sr-only"
        aria-label="Choose files to share"
        onChange={(event) => {
          const files = [...(event.target.files ?? [])];
          // Reset so choosing the same file again still fires a change.
          event.target.value = '';
          if (files.length > 0) onFiles(files);
        }}
      />
    </div>
  );
}
