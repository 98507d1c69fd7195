/**
 * The logging surface `lib/` needs: pino's `(fields, message)` call shape, so the node passes its pino
 * logger straight in, and the browser or a test passes something small.
 */
export type LogFields = Record<string, unknown>;
export type LogFn = (fields: LogFields, message: string) => void;

export interface Logger {
  debug: LogFn;
  info: LogFn;
  warn: LogFn;
  error: LogFn;
  child(bindings: LogFields): Logger;
}

const ignore: LogFn = () => {};

export const silentLogger: Logger = {
  debug: ignore,
  info: ignore,
  warn: ignore,
  error: ignore,
  child: () => silentLogger,
};
