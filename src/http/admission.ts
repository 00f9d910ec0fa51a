/**
 * THE ordered checks an MCP request over HTTP passes before the session layer
 * sees it, on every path (the express routes, the session fast path, /sse and
 * /messages). Each is a function of the request's parts that returns a
 * Refusal or lets it pass; the paths differ only in how they read the body.
 *
 *   1. Host and Origin     400 / 403      a DNS-rebinding page is refused first
 *   2. authenticate        401 + challenge, 503 when the issuer's keys cannot be fetched
 *   3. body                413 / 400      read by the path, capped; only after
 *                                          authentication, so an anonymous caller costs no parsing
 *   4. scope step-up       403 insufficient_scope, for OAuth bearer callers
 *   5. session ownership   404 unknown (or another endpoint's), 403 another principal's
 *
 * Policy, limits and the rest are the pipeline's (pipeline/index.ts).
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { HttpAuthenticator } from '../auth/http.js';
import { looksLikeJwt } from '../auth/jwt.js';
import { bearerChallenge, metadataUrls, unauthorizedChallenge } from '../auth/resource-metadata.js';
import { GatewayError, JsonRpc } from '../core/errors.js';
import type { Principal } from '../core/principal.js';
import { denial } from '../pipeline/authorize.js';
import type { SessionInfo } from '../pipeline/index.js';
import type { View } from '../pipeline/view.js';
import type { Decision } from '../policy/types.js';
import type { SessionRegistry } from '../session/registry.js';
import { hostAndOriginCheck, type OriginSettings } from './origin.js';
import { headerValue, refusal, type Refusal } from './responses.js';

/** The order above, by name: ARCHITECTURE.md lists it, and a test holds both to it. */
export const ADMISSION_ORDER = ['host-and-origin', 'authenticate', 'body', 'scope-step-up', 'session'] as const;

export interface ProtectedResource {
  /** The canonical URL of the MCP endpoint (auth.resource, else this server's own URL + path); asked per request. */
  resource: () => string;
  authorizationServers: string[];
  scopesSupported: string[];
}

/** A request the policy would refuse only for missing scopes (pipeline/preflight.ts). */
export type ScopeShortfall = (who: { principal: Principal; session: SessionInfo }, message: unknown) => Decision | undefined;

export interface AdmissionOptions {
  origins: OriginSettings;
  /** Who is calling, from the request's headers; throws UNAUTHENTICATED. */
  authenticate: HttpAuthenticator;
  /** Set when bearer JWTs are accepted: 401s point to the RFC 9728 metadata, and scopes can be stepped up. */
  protectedResource?: ProtectedResource;
  scopeShortfall?: ScopeShortfall;
  sessions: Pick<SessionRegistry, 'get'>;
}

export type Authenticated = { principal: Principal; refusal?: undefined } | { refusal: Refusal; principal?: undefined };

export class Admission {
  /** 1. Host and Origin. */
  readonly hostAndOrigin: (headers: IncomingHttpHeaders) => Refusal | undefined;

  constructor(private readonly options: AdmissionOptions) {
    const problem = hostAndOriginCheck(options.origins);
    this.hostAndOrigin = (headers) => {
      const found = problem(headers);
      return found && refusal(found.status, JsonRpc.INVALID_REQUEST, found.message);
    };
  }

  /** 2. Who is calling; anything but the gateway's own UNAUTHENTICATED error is a fault, and thrown. */
  async authenticate(headers: IncomingHttpHeaders): Promise<Authenticated> {
    try {
      return { principal: await this.options.authenticate(headers) };
    } catch (err) {
      if (!(err instanceof GatewayError)) throw err;
      return { refusal: this.unauthenticated(err) };
    }
  }

  /**
   * 4. An OAuth client that lacks a scope the policy requires is told so
   * while the HTTP status can still say it: 403 with `insufficient_scope` and
   * the scopes to ask for, so it can step up. (API-key callers cannot step
   * up: they get the in-band JSON-RPC error from the pipeline instead.)
   */
  scopes(headers: IncomingHttpHeaders, body: unknown, principal: Principal): Refusal | undefined {
    const { protectedResource: pr, scopeShortfall } = this.options;
    if (!pr || !scopeShortfall) return undefined;
    const bearer = /^Bearer\s+(.+)$/i.exec(headers.authorization ?? '')?.[1]?.trim();
    if (!bearer || !looksLikeJwt(bearer)) return undefined;
    const sessionId = headerValue(headers['mcp-session-id']);
    const session: SessionInfo = { id: sessionId ?? 'preflight', transport: 'streamable-http', era: sessionId ? 'legacy' : 'modern' };
    const decision = scopeShortfall({ principal, session }, body);
    if (!decision) return undefined;
    const scope = [...new Set([...principal.scopes, ...(decision.missingScopes ?? [])])];
    const challenge = bearerChallenge({ error: 'insufficient_scope', scope, resourceMetadataUrl: metadataUrls(pr.resource()).pathInserted });
    const id = (body as { id?: unknown } | undefined)?.id ?? null;
    return { status: 403, headers: { 'WWW-Authenticate': challenge }, body: { jsonrpc: '2.0', error: denial(decision).toJsonRpcError(), id } };
  }

  /**
   * 5. A session id is not a credential: the session is bound to the
   * principal that opened it (its namespaced id only; scopes, groups and
   * claims are each request's own) and to the endpoint it was opened on.
   * Unknown or another endpoint's is the spec's 404 (the client starts a new
   * one); another principal's is 403.
   */
  session(sessionId: string, principal: Principal, view: View): Refusal | undefined {
    const session = this.options.sessions.get(sessionId);
    if (!session || session.view !== view) return refusal(404, JsonRpc.SESSION_NOT_FOUND, 'Session not found');
    if (session.principal.id !== principal.id) return refusal(403, JsonRpc.INVALID_REQUEST, 'Session belongs to another principal');
    return undefined;
  }

  private unauthenticated(err: GatewayError): Refusal {
    const body = { jsonrpc: '2.0', error: err.toJsonRpcError(), id: null };
    // The issuer's keys could not be fetched: the token may well be good.
    if (err.data.reason === 'unavailable') return { status: 503, headers: { 'Retry-After': '5' }, body };
    const pr = this.options.protectedResource;
    const challenge = pr
      ? unauthorizedChallenge({ reason: err.data.reason, resourceMetadataUrl: metadataUrls(pr.resource()).pathInserted, scope: pr.scopesSupported })
      : 'Bearer realm="switchboard"';
    return { status: 401, headers: { 'WWW-Authenticate': challenge }, body };
  }
}
