/**
 * The HTTP edge's identity checks: who is calling (401 with a Bearer
 * challenge when nobody valid is), whether a session may be used by this
 * caller through this endpoint, and the 403 `insufficient_scope` step-up
 * answer for OAuth clients.
 */
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import type { NextFunction, Request, Response } from 'express';
import type { AuthInfo } from '@modelcontextprotocol/server';
import type { HttpAuthenticator } from '../auth/http.js';
import { looksLikeJwt } from '../auth/jwt.js';
import { ANONYMOUS, type Principal } from '../core/principal.js';
import { bearerChallenge, metadataUrls, unauthorizedChallenge } from '../auth/resource-metadata.js';
import { GatewayError, JsonRpc } from '../core/errors.js';
import { denial } from '../pipeline/authorize.js';
import type { SessionInfo } from '../pipeline/index.js';
import type { View } from '../pipeline/view.js';
import type { Decision } from '../policy/types.js';
import type { Hub } from '../session/hub.js';

export interface ProtectedResource {
  /** The canonical URL of the MCP endpoint (auth.resource, else this server's own URL + path); asked per request. */
  resource: () => string;
  authorizationServers: string[];
  scopesSupported: string[];
}

export type ScopeShortfall = (who: { principal: Principal; session: SessionInfo }, message: unknown) => Decision | undefined;

/** An HTTP answer refusing a request: written by whichever path found it (express or the session fast path). */
export interface Refusal {
  status: number;
  headers?: Record<string, string>;
  body: object;
}

export function sendRefusal(res: ServerResponse, refusal: Refusal): void {
  sendJson(res, refusal.status, refusal.body, refusal.headers);
}

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { ...headers, 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text) }).end(text);
}

/**
 * An OAuth client that lacks a scope the policy requires is told so while
 * the HTTP status can still say it: 403 with `error="insufficient_scope"` and
 * the scopes to ask for, so it can step up. (API-key callers cannot step up:
 * they get the in-band JSON-RPC error from the pipeline instead.)
 */
export function scopeRefusal(headers: IncomingHttpHeaders, body: unknown, principal: Principal, pr: ProtectedResource, shortfall: ScopeShortfall): Refusal | undefined {
  const bearer = /^Bearer\s+(.+)$/i.exec(headers.authorization ?? '')?.[1]?.trim();
  if (!bearer || !looksLikeJwt(bearer)) return undefined;
  const sessionId = headerValue(headers['mcp-session-id']);
  const session: SessionInfo = { id: sessionId ?? 'preflight', transport: 'streamable-http', era: sessionId ? 'legacy' : 'modern' };
  const decision = shortfall({ principal, session }, body);
  if (!decision) return undefined;
  const scope = [...new Set([...principal.scopes, ...(decision.missingScopes ?? [])])];
  const challenge = bearerChallenge({ error: 'insufficient_scope', scope, resourceMetadataUrl: metadataUrls(pr.resource()).pathInserted });
  const id = (body as { id?: unknown } | undefined)?.id ?? null;
  return { status: 403, headers: { 'WWW-Authenticate': challenge }, body: { jsonrpc: '2.0', error: denial(decision).toJsonRpcError(), id } };
}

/** Authenticates every MCP request; a failure is 401 with a Bearer challenge. */
export function authenticate(authenticator: HttpAuthenticator, challenge?: () => { resourceMetadataUrl: string; scope: string[] }) {
  return async function authenticateRequest(req: Request, res: Response, next: NextFunction): Promise<void> {
    let principal: Principal;
    try {
      principal = await authenticator(req.headers);
    } catch (err) {
      if (!(err instanceof GatewayError)) return next(err);
      const body = { jsonrpc: '2.0', error: err.toJsonRpcError(), id: null };
      // The issuer's keys could not be fetched: the token may well be good.
      if (err.data.reason === 'unavailable') return void res.status(503).setHeader('Retry-After', '5').json(body);
      res.setHeader('WWW-Authenticate', challenge ? unauthorizedChallenge({ reason: err.data.reason, ...challenge() }) : 'Bearer realm="switchboard"');
      return void res.status(401).json(body);
    }
    res.locals.principal = principal;
    attachPrincipal(req, principal);
    next();
  };
}

export function principalOf(res: Response): Principal {
  return (res.locals.principal as Principal | undefined) ?? ANONYMOUS;
}

/**
 * Hands this request's principal to the SDK server that handles it: the
 * transports pass `req.auth` on with each message, and the server reads it
 * back as `ctx.http.authInfo` (see requestPrincipal in auth/principal.ts). A session's requests
 * are thus each decided with the credential they carry, not the one that
 * opened the session. The credential itself is not in it (`token` stays
 * empty): it never travels past the edge.
 */
export function attachPrincipal(req: IncomingMessage, principal: Principal): void {
  (req as IncomingMessage & { auth?: AuthInfo }).auth = { token: '', clientId: principal.id, scopes: principal.scopes, extra: { principal } };
}

/**
 * Why a request may not use this session, if it may not: an unknown or
 * expired session (or one of another endpoint) is the spec's 404 (the client
 * starts a new one); a session is bound to the principal that opened it,
 * since its id is not a credential, so anyone else gets 403. Only the
 * identity is bound (the namespaced `principal.id`): scopes, groups and
 * claims are this request's own.
 */
export function sessionRefusal(hub: Hub, sessionId: string, principal: Principal, view: View): Refusal | undefined {
  const session = hub.sessions.get(sessionId);
  // A session opened on one profile's endpoint does not exist on another's.
  if (!session || session.view !== view) return { status: 404, body: rpcError(JsonRpc.SESSION_NOT_FOUND, 'Session not found') };
  if (session.principal.id !== principal.id) return { status: 403, body: rpcError(JsonRpc.INVALID_REQUEST, 'Session belongs to another principal') };
  return undefined;
}

export function headerValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

export function rpcError(code: number, message: string): object {
  return { jsonrpc: '2.0', error: { code, message }, id: null };
}
