import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { HttpError, parseOr400 } from './http-errors.ts';
import type { ApiContext } from './server.ts';
import { MAX_TEXT_CHARS } from '../../lib/peer/constants.ts';
import { SwarmError } from '../../lib/peer/errors.ts';

const postBody = z.object({
  recipient_id: z.string().min(1).max(256).nullable().optional(),
  text: z.string().min(1, 'text is empty').max(MAX_TEXT_CHARS, `text is longer than ${MAX_TEXT_CHARS} characters`),
});

const listQuery = z.object({
  limit: z.coerce.number().int().min(1).max(500).default(100),
});

export function registerMessageRoutes(app: FastifyInstance, { messaging, history }: ApiContext): void {
  app.post('/api/messages', async (request) => {
    const body = parseOr400(postBody, request.body, 'body (expected {"recipient_id"?: str, "text": str})');
    try {
      const entry = await messaging.send(body.text, body.recipient_id ?? null);
      return { status: 'queued', message_id: entry.payload.message_id };
    } catch (err) {
      if (err instanceof SwarmError) throw new HttpError(400, err.message);
      throw err;
    }
  });

  app.get('/api/messages', async (request) => {
    const { limit } = parseOr400(listQuery, request.query, 'query (limit is 1..500)');
    return {
      messages: history.list(limit).map((entry) => ({
        direction: entry.direction,
        payload: entry.payload,
        [entry.direction === 'incoming' ? 'received_at' : 'sent_at']: new Date(entry.at).toISOString(),
        status: entry.status,
        ...(entry.authenticity && { authenticity: entry.authenticity }),
      })),
    };
  });
}
