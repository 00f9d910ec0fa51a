/**
 * The request most traffic is — a POST to an open 2025-era session — served
 * without express. Express's router and body parser cost about a tenth of
 * the gateway's CPU per forwarded call (bench/profile.mjs http), and such a
 * POST needs none of them: the same checks run here, in the same order
 * (Host/Origin, authentication, body, scope step-up, session ownership).
 *
 * Anything out of the ordinary is left to express, which answers it as
 * before: another method or path, no session id or one this replica does
 * not hold, a refused Host or Origin, a failed authentication, a compressed
 * or non-UTF-8 body, or a draining replica. Only what cannot be handed back
 * once the body has been read is answered here: a body over the limit (413)
 * and one that is not JSON (400), with express's answers.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { HttpAuthenticator } from '../auth/http.js';
import type { Principal } from '../core/principal.js';
import { JsonRpc } from '../core/errors.js';
import type { Logger } from '../observability/log.js';
import type { View } from '../pipeline/view.js';
import { attachPrincipal, headerValue, rpcError, scopeRefusal, sendJson, sendRefusal, type ProtectedResource, type ScopeShortfall } from './auth.js';
import type { LegacyStreamableHttp } from './legacy.js';
import { isJsonContentType } from './session-transport.js';

export interface SessionFastPathOptions {
  /** Endpoint path → the view it serves. */
  endpoints: Map<string, View>;
  legacy: LegacyStreamableHttp;
  authenticate: HttpAuthenticator;
  hostAndOriginProblem: (headers: IncomingMessage['headers']) => unknown;
  maxBodyBytes: number;
  draining?: () => boolean;
  protectedResource?: ProtectedResource;
  scopeShortfall?: ScopeShortfall;
  log: Logger;
}

/** Returns a request listener that serves session POSTs itself and hands everything else to `fallback`. */
export function withSessionFastPath(options: SessionFastPathOptions, fallback: (req: IncomingMessage, res: ServerResponse) => void) {
  return (req: IncomingMessage, res: ServerResponse): void => {
    const taken = takeable(req, options);
    if (!taken) return fallback(req, res);
    serve(req, res, taken.sessionId, taken.view, options, fallback).catch((err: unknown) => {
      options.log.error('unhandled HTTP error', { error: (err as Error).message });
      if (!res.headersSent) sendJson(res, 500, rpcError(JsonRpc.INTERNAL_ERROR, 'Internal error'));
      else res.end();
    });
  };
}

function takeable(req: IncomingMessage, options: SessionFastPathOptions): { sessionId: string; view: View } | undefined {
  if (req.method !== 'POST' || options.draining?.()) return undefined;
  const sessionId = headerValue(req.headers['mcp-session-id']);
  if (!sessionId || !options.legacy.has(sessionId)) return undefined;
  const query = req.url!.indexOf('?');
  const view = options.endpoints.get(query === -1 ? req.url! : req.url!.slice(0, query));
  if (!view || !plainJson(req) || options.hostAndOriginProblem(req.headers)) return undefined;
  return { sessionId, view };
}

/** A JSON body the fast path can read as it is: no content coding, UTF-8. */
function plainJson(req: IncomingMessage): boolean {
  const encoding = req.headers['content-encoding'];
  if (encoding !== undefined && encoding.toLowerCase() !== 'identity') return false;
  const type = req.headers['content-type']?.toLowerCase();
  if (!isJsonContentType(type)) return false;
  const charset = /;\s*charset=([^;\s]+)/.exec(type!)?.[1]?.replace(/"/g, '');
  return charset === undefined || charset === 'utf-8' || charset === 'utf8';
}

async function serve(req: IncomingMessage, res: ServerResponse, sessionId: string, view: View, options: SessionFastPathOptions, fallback: (req: IncomingMessage, res: ServerResponse) => void): Promise<void> {
  let principal: Principal;
  try {
    principal = await options.authenticate(req.headers);
  } catch {
    // Express answers it (401 with its challenge, or 503), authenticating once more.
    return fallback(req, res);
  }
  const read = await readBody(req, res, options.maxBodyBytes);
  if (!read) return;
  const { body } = read;
  const pr = options.protectedResource;
  const refusal = pr && options.scopeShortfall ? scopeRefusal(req.headers, body, principal, pr, options.scopeShortfall) : undefined;
  if (refusal) return sendRefusal(res, refusal);
  // This request is decided as the caller it authenticated, as on the express path.
  attachPrincipal(req, principal);
  await options.legacy.serve(sessionId, principal, req, res, body, view);
}

/** The parsed body, or undefined once an error has been answered (as express.json answers it). */
async function readBody(req: IncomingMessage, res: ServerResponse, limit: number): Promise<{ body: unknown } | undefined> {
  const tooLarge = () => {
    // The rest of the body is not read: the connection goes with it.
    res.once('finish', () => req.destroy());
    sendJson(res, 413, rpcError(JsonRpc.INVALID_REQUEST, 'Request body too large'), { connection: 'close' });
  };
  if (Number(req.headers['content-length'] ?? 0) > limit) return void tooLarge();
  const { chunks, size } = await collect(req, limit);
  if (size > limit) return void tooLarge();
  // express.json reads an empty body as {}.
  if (size === 0) return { body: {} };
  const text = (chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size)).toString('utf8');
  try {
    // Any JSON value, as express.json (not strict) reads it: one that is not a request is answered -32600 later.
    return { body: JSON.parse(text) as unknown };
  } catch {
    // answered below
  }
  sendJson(res, 400, rpcError(JsonRpc.PARSE_ERROR, 'Parse error'));
  return undefined;
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
