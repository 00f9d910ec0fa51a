/**
 * The authenticated principal of an HTTP request, as the edge hands it on:
 * to the express routes (`res.locals`) and to the SDK server that handles
 * the request (`req.auth`).
 */
import type { IncomingMessage } from 'node:http';
import type { Response } from 'express';
import type { AuthInfo } from '@modelcontextprotocol/server';
import { ANONYMOUS, type Principal } from '../core/principal.js';

export function principalOf(res: Response): Principal {
  return (res.locals.principal as Principal | undefined) ?? ANONYMOUS;
}

/**
 * Hands this request's principal to the SDK server that handles it: the
 * transports pass `req.auth` on with each message, and the server reads it
 * back as `ctx.http.authInfo` (requestPrincipal in core/principal.ts). A
 * session's requests are thus each decided with the credential they carry,
 * not the one that opened the session. The credential itself is not in it
 * (`token` stays empty): it never travels past the edge.
 */
export function attachPrincipal(req: IncomingMessage, principal: Principal): void {
  (req as IncomingMessage & { auth?: AuthInfo }).auth = { token: '', clientId: principal.id, scopes: principal.scopes, extra: { principal } };
}
