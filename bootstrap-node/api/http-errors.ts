import type { FastifyInstance } from 'fastify';
import type { z } from 'zod';
import { describeIssues } from '../../lib/peer/wire/codec.ts';

/** An error that becomes `{ "detail": message }` with this status (REST-API.md's error shape). */
export class HttpError extends Error {
  constructor(
    readonly statusCode: number,
    message: string,
  ) {
    super(message);
  }
}

/** Validates a request part with zod, answering 400 with a `detail` that names what is wrong. */
export function parseOr400<T>(schema: z.ZodType<T>, value: unknown, what: string): T {
  const result = schema.safeParse(value);
  if (!result.success) throw new HttpError(400, `invalid ${what}: ${describeIssues(result.error)}`);
  return result.data;
}

/** Every error leaves as `{detail}`: ours, Fastify's own (bad JSON, wrong content type), or unexpected. */
export function installErrorHandler(app: FastifyInstance): void {
  app.setErrorHandler((err: Error & { statusCode?: number; code?: string }, request, reply) => {
    const status = err.statusCode && err.statusCode >= 400 && err.statusCode < 600 ? err.statusCode : 500;
    if (status >= 500) request.log.error({ err }, 'request failed');
    const detail =
      err.code === 'FST_ERR_CTP_INVALID_JSON_BODY' || err instanceof SyntaxError
        ? 'request body is not valid JSON'
        : status >= 500
          ? `internal error: ${err.message}`
          : err.message;
    void reply.status(status).send({ detail });
  });
  app.setNotFoundHandler((request, reply) => {
    void reply.status(404).send({ detail: `no such endpoint: ${request.method} ${request.url}` });
  });
}
