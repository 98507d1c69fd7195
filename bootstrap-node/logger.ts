import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import pino from 'pino';
import type { LogLevel } from './config.ts';

/**
 * Structured JSON logs (pino) to `<dir>/logs/swarmdrop.log` and, unless quiet, to stdout. The file is
 * always written so a user can send it with a bug report.
 */
export function createLogger(options: { dir: string; level: LogLevel; stdout: boolean }): pino.Logger {
  const logDir = join(options.dir, 'logs');
  mkdirSync(logDir, { recursive: true });
  const streams: pino.StreamEntry[] = [
    { level: options.level === 'silent' ? 'fatal' : options.level, stream: pino.destination({ dest: join(logDir, 'swarmdrop.log'), sync: false }) },
  ];
  if (options.stdout) streams.push({ level: options.level === 'silent' ? 'fatal' : options.level, stream: pino.destination({ dest: 1, sync: false }) });
  return pino({ level: options.level, base: undefined, timestamp: pino.stdTimeFunctions.isoTime }, pino.multistream(streams));
}
