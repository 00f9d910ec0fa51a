/**
 * Reading a JSON request body without express, for the session fast path:
 * capped at `gateway.maxBodyBytes`, and answered as express.json answers
 * (413 over the limit, 400 for what is not JSON, `{}` for an empty body).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { JsonRpc } from '../core/errors.js';
import { rpcError, sendJson } from './responses.js';

/** The parsed body, or undefined once an error has been answered. */
export async function readJsonBody(req: IncomingMessage, res: ServerResponse, limit: number): Promise<{ body: unknown } | undefined> {
  if (Number(req.headers['content-length'] ?? 0) > limit) return void answerTooLarge(req, res);
  const { chunks, size } = await collect(req, limit);
  if (size > limit) return void answerTooLarge(req, res);
  if (size === 0) return { body: {} };
  const text = (chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size)).toString('utf8');
  try {
    // Any JSON value, as express.json (not strict) reads it: one that is not a request is answered -32600 later.
    return { body: JSON.parse(text) as unknown };
  } catch {
    sendJson(res, 400, rpcError(JsonRpc.PARSE_ERROR, 'Parse error'));
    return undefined;
  }
}

function answerTooLarge(req: IncomingMessage, res: ServerResponse): void {
  // The rest of the body is not read: the connection goes with it.
  res.once('finish', () => req.destroy());
  sendJson(res, 413, rpcError(JsonRpc.INVALID_REQUEST, 'Request body too large'), { connection: 'close' });
}

/** The body's chunks, stopping once past `limit` (an async iterator per request costs more than the events). */
function collect(req: IncomingMessage, limit: number): Promise<{ chunks: Buffer[]; size: number }> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size <= limit) return void chunks.push(chunk);
      req.off('data', onData);
      req.pause();
      resolve({ chunks, size });
    };
    req.on('data', onData);
    req.once('end', () => resolve({ chunks, size }));
    req.once('error', reject);
  });
}
