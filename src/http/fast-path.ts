/**
 * The request most traffic is — a POST to an open 2025-era session — served
 * without express. Express's router and body parser cost about a tenth of
 * the gateway's CPU per forwarded call (bench/profile.mjs http), and such a
 * POST needs none of them. The checks are the same objects in the same
 * order as on every other path (admission.ts); only the body is read here.
 *
 * Anything out of the ordinary is left to express: another method or path,
 * no session id or one this replica does not hold, a compressed or
 * non-UTF-8 body, or a draining replica.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from '../observability/log.js';
import type { View } from '../pipeline/view.js';
import type { Admission } from './admission.js';
import { readJsonBody } from './body.js';
import type { LegacyStreamableHttp } from './legacy.js';
import { attachPrincipal } from './principal.js';
import { answerInternalError, headerValue, sendRefusal } from './responses.js';
import { isJsonContentType } from './session-transport.js';

export interface SessionFastPathOptions {
  /** Endpoint path → the view it serves. */
  endpoints: Map<string, View>;
  legacy: LegacyStreamableHttp;
  admission: Admission;
  maxBodyBytes: number;
  draining?: () => boolean;
  log: Logger;
}

/** Returns a request listener that serves session POSTs itself and hands everything else to `fallback`. */
export function withSessionFastPath(options: SessionFastPathOptions, fallback: (req: IncomingMessage, res: ServerResponse) => void) {
  return (req: IncomingMessage, res: ServerResponse): void => {
    const taken = takeable(req, options);
    if (!taken) return fallback(req, res);
    serve(req, res, taken.sessionId, taken.view, options).catch((err: unknown) => answerInternalError(res, options.log, err));
  };
}

function takeable(req: IncomingMessage, options: SessionFastPathOptions): { sessionId: string; view: View } | undefined {
  if (req.method !== 'POST' || options.draining?.()) return undefined;
  const sessionId = headerValue(req.headers['mcp-session-id']);
  if (!sessionId || !options.legacy.has(sessionId)) return undefined;
  const query = req.url!.indexOf('?');
  const view = options.endpoints.get(query === -1 ? req.url! : req.url!.slice(0, query));
  if (!view || !plainJson(req)) return undefined;
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

async function serve(req: IncomingMessage, res: ServerResponse, sessionId: string, view: View, options: SessionFastPathOptions): Promise<void> {
  const { admission } = options;
  const hostRefusal = admission.hostAndOrigin(req.headers);
  if (hostRefusal) return sendRefusal(res, hostRefusal);
  const who = await admission.authenticate(req.headers);
  if (who.refusal) return sendRefusal(res, who.refusal);
  const read = await readJsonBody(req, res, options.maxBodyBytes);
  if (!read) return;
  const scopeRefusal = admission.scopes(req.headers, read.body, who.principal);
  if (scopeRefusal) return sendRefusal(res, scopeRefusal);
  // This request is decided as the caller it authenticated, as on the express path.
  attachPrincipal(req, who.principal);
  await options.legacy.serve(sessionId, who.principal, req, res, read.body, view);
}
