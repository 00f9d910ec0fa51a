import { randomUUID } from 'node:crypto';
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import express, { type Express, type NextFunction, type Request, type Response } from 'express';
import { toWebRequest } from '@modelcontextprotocol/node';
import { createMcpHandler, isLegacyRequest, type McpHttpHandler } from '@modelcontextprotocol/server';
import type { HttpAuthenticator } from '../auth/http.js';
import { ANONYMOUS, type Principal } from '../core/principal.js';
import type { GatewaySettings } from '../config/schema/index.js';
import { JsonRpc } from '../core/errors.js';
import type { Logger } from '../observability/log.js';
import { createView, WHOLE_CATALOG, type View } from '../pipeline/view.js';
import { Admission, type Authenticated, type ProtectedResource, type ScopeShortfall } from './admission.js';
import { attachPrincipal, principalOf } from './principal.js';
import { answerInternalError, rpcError, sendRefusal, type Refusal } from './responses.js';
import type { Hub } from '../session/hub.js';
import { LegacySse, LegacyStreamableHttp, sessionIds } from './legacy.js';
import { mountOAuthRoutes, type OAuthRoutesOptions } from './oauth-routes.js';
import { mountApprovalPage } from './approval-page.js';
import { mountIndexPage } from './index-page.js';
import { mountAuthorizationMetadata } from './authorization-metadata.js';
import { refusedForParamHeaders } from './param-headers.js';
import type { Approvals } from '../approvals/approvals.js';
import type { MetricsHandler } from './metrics-endpoint.js';
import { probeGuard } from './origin.js';
import type { SessionState } from '../session/server.js';
import { withSessionFastPath } from './fast-path.js';
import type { StreamLimits } from './bounded-stream.js';
import { toBoundedNodeHandler } from './modern-node.js';
import { SessionLimiter, type SessionLimitEvents } from './session-limits.js';

export interface HttpFrontOptions {
  hub: Hub;
  /** Who is calling, from the request's headers; throws UNAUTHENTICATED. */
  authenticate: HttpAuthenticator;
  settings: Pick<GatewaySettings, 'listen' | 'path' | 'allowedOrigins' | 'allowedHosts' | 'maxBodyBytes' | 'profiles' | 'replicaId' | 'limits'>;
  log: Logger;
  /** The body of `/readyz`, and whether the gateway is ready. */
  readiness: () => { ready: boolean; body: unknown };
  /** `/metrics` on this port (absent when disabled or served on its own port). */
  metrics?: MetricsHandler;
  /** Set when bearer JWTs are accepted: RFC 9728 metadata is served and 401s point to it. */
  protectedResource?: ProtectedResource;
  /** A request the policy would refuse only for missing scopes (see pipeline/preflight.ts). */
  scopeShortfall?: ScopeShortfall;
  /** True once the gateway is draining: new work is refused so a load balancer sends it elsewhere. */
  draining?: () => boolean;
  /** Set when some server has credentials "user-oauth": the sign-in pages. */
  userOAuth?: Omit<OAuthRoutesOptions, 'authenticated' | 'log'>;
  /** Set when gateway.console is enabled: mounts the console's routes (behind the Host and Origin checks). */
  console?: (app: Express) => void;
  /** An exposed tool's input schema (Mcp-Param-* headers are checked against it). */
  toolSchema: (exposed: string) => unknown;
  /** The approval page callers' clients link to (approve rules with approvers: self). */
  approvals?: { approvals: Approvals; publicUrl: () => string };
  /** Where every SSE stream to a client counts what it drops or closes for a client that stops reading (bounded-stream.ts). */
  streams?: StreamLimits;
  /** Told of each session refused or closed under gateway.limits (metrics). */
  sessionLimitEvents?: SessionLimitEvents;
}

export type { ProtectedResource };

export interface HttpFront {
  app: Express;
  /** The listener for the HTTP server: open sessions' POSTs on a fast path, everything else through `app`. */
  handle: (req: IncomingMessage, res: ServerResponse) => void;
  close(): Promise<void>;
}

/** One MCP endpoint: the whole catalog at gateway.path, or a profile's view at its own path. */
interface Endpoint {
  path: string;
  ssePath: string;
  view: View;
}

export function createHttpFront(options: HttpFrontOptions): HttpFront {
  const { hub, settings, log } = options;
  const pr = options.protectedResource;
  const admission = new Admission({
    origins: settings,
    authenticate: options.authenticate,
    sessions: hub.sessions,
    ...(pr ? { protectedResource: pr } : {}),
    ...(options.scopeShortfall ? { scopeShortfall: options.scopeShortfall } : {}),
  });
  const endpoints = endpointsOf(settings);
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', false);

  // Draining (shutting down): new work is refused before anything else runs; see refuseWhileDraining.
  if (options.draining) app.use(refuseWhileDraining(options.draining, settings.maxBodyBytes));
  // Probes and scrapers come from other hosts by IP, so on a public bind they
  // sit before the Host check. On a loopback bind they come from this host:
  // there the check applies, so a DNS-rebinding page cannot read them.
  const probes = probeGuard(settings);
  app.get('/healthz', probes, (_req, res) => void res.json({ status: 'ok' }));
  app.get('/readyz', probes, (_req, res) => {
    const { ready, body } = options.readiness();
    res.status(ready ? 200 : 503).json(body);
  });
  if (options.metrics) app.get('/metrics', probes, options.metrics);
  // Public, and fetched cross-origin by browser-based clients: before the Host/Origin check, with CORS.
  mountAuthorizationMetadata(
    app,
    pr,
    endpoints.map((e) => e.path),
  );
  // The admission checks in their order (admission.ts); the body is read between authentication and scopes.
  app.use(admit(admission.hostAndOrigin));
  mountIndexPage(app, endpoints, options);
  options.console?.(app);
  if (options.approvals) mountApprovalPage(app, options.approvals.approvals, options.approvals.publicUrl);
  const authenticated = authenticate(admission);
  if (options.userOAuth) mountOAuthRoutes(app, { ...options.userOAuth, authenticated, log });
  app.use([...endpoints.flatMap((e) => [e.path, e.ssePath]), '/messages'], authenticated);
  // Not strict: a JSON scalar is JSON, and is answered -32600 (not a request) rather than -32700.
  app.use(express.json({ limit: settings.maxBodyBytes, strict: false, type: ['application/json', 'application/*+json'] }));

  const newSessionId = sessionIds(settings.replicaId);
  // One limiter for both transports and every endpoint: the caps are the gateway's, not a profile's.
  const limiter = new SessionLimiter(hub.sessions, settings.limits, log, options.sessionLimitEvents);
  const legacyDeps = { hub, admission, log, newSessionId, limiter, ...(options.streams ? { streams: options.streams } : {}) };
  const legacy = new LegacyStreamableHttp(legacyDeps);
  const sse = new LegacySse(legacyDeps);
  const modernHandlers: McpHttpHandler[] = [];
  for (const endpoint of endpoints) {
    const modern = createModernHandler(hub, endpoint.view);
    modernHandlers.push(modern);
    const modernNode = toBoundedNodeHandler(modern, options.streams);
    app.post(endpoint.path, async (req, res) => {
      const refusal = admission.scopes(req.headers, req.body, principalOf(res));
      if (refusal) return sendRefusal(res, refusal);
      // A session id is a 2025-era session by definition; everything else is classified by the SDK.
      if (req.header('mcp-session-id') || (await isLegacyRequest(await toWebRequest(req, req.body), req.body))) {
        return legacy.handle(req, res, endpoint.view);
      }
      if (refusedForParamHeaders(req, res, options.toolSchema)) return;
      // The stateless handler hands this to the per-request server factory.
      const principal = principalOf(res);
      attachPrincipal(req, principal);
      const uris = listenedResources(req.body);
      if (uris.length > 0) {
        // Subscribed upstream before the stream is acknowledged, so no update is missed.
        const release = await hub.listenOpened(principal, endpoint.view, endpoint.view.profile, uris);
        res.once('close', release);
      }
      return modernNode(req, res, req.body);
    });
    app.get(endpoint.path, (req, res) => legacy.handle(req, res, endpoint.view));
    app.delete(endpoint.path, (req, res) => legacy.handle(req, res, endpoint.view));
    app.get(endpoint.ssePath, (req, res) => sse.open(req, res, endpoint.view));
  }
  app.post('/messages', (req, res) => sse.post(req, res));
  // Anything else is a JSON-RPC error too, never express's HTML page.
  for (const endpoint of endpoints)
    app.all(endpoint.path, (_req, res) => void res.status(405).set('Allow', 'GET, POST, DELETE').json(rpcError(JsonRpc.BAD_REQUEST, 'Method not allowed')));
  app.use((_req, res) => void res.status(404).json(rpcError(JsonRpc.BAD_REQUEST, 'Not found')));

  app.use(jsonErrorHandler(log));
  const handle = withSessionFastPath(
    {
      endpoints: new Map(endpoints.map((e) => [e.path, e.view])),
      legacy,
      admission,
      maxBodyBytes: settings.maxBodyBytes,
      draining: options.draining,
      log,
    },
    app,
  );
  return {
    app,
    handle,
    async close() {
      await Promise.allSettled(modernHandlers.map((h) => h.close()));
    },
  };
}

/** An admission check as express middleware: its refusal is the answer. */
function admit(check: (headers: IncomingHttpHeaders) => Refusal | undefined) {
  return (req: Request, res: Response, next: NextFunction): void => {
    const refusal = check(req.headers);
    if (refusal) return sendRefusal(res, refusal);
    next();
  };
}

/** Authentication as express middleware: before the body is even parsed, so an anonymous caller costs nothing. */
function authenticate(admission: Admission) {
  return async function authenticateRequest(req: Request, res: Response, next: NextFunction): Promise<void> {
    let who: Authenticated;
    try {
      who = await admission.authenticate(req.headers);
    } catch (err) {
      return next(err);
    }
    if (who.refusal) return sendRefusal(res, who.refusal);
    res.locals.principal = who.principal;
    attachPrincipal(req, who.principal);
    next();
  };
}

/**
 * The endpoints: gateway.path for the whole catalog (or the `default`
 * profile's view, unless that is disabled), and each enabled profile at its
 * own path, with /sse/<name> for legacy clients. Computed once per front:
 * one view object per endpoint, so that sessions can be told apart by it.
 */
function endpointsOf(settings: HttpFrontOptions['settings']): Endpoint[] {
  const endpoints: Endpoint[] = [];
  const main = settings.profiles.default;
  if (!main || main.enabled) endpoints.push({ path: settings.path, ssePath: '/sse', view: main ? createView(main) : WHOLE_CATALOG });
  for (const profile of Object.values(settings.profiles)) {
    if (profile.name === 'default' || !profile.enabled) continue;
    endpoints.push({ path: profile.path, ssePath: `/sse/${profile.name}`, view: createView(profile) });
  }
  return endpoints;
}

function createModernHandler(hub: Hub, view: View): McpHttpHandler {
  const handler = createMcpHandler(
    ({ authInfo }) => {
      const principal = (authInfo?.extra?.principal as Principal | undefined) ?? ANONYMOUS;
      const info = { id: `stateless-${randomUUID()}`, transport: 'streamable-http' as const, era: 'modern' as const, profile: view.profile };
      const state: SessionState = { info, principal, view };
      return hub.createServer(state);
    },
    // 2025-era traffic is routed to the sessionful transport before it gets here.
    { legacy: 'reject', responseMode: 'auto' },
  );
  hub.addModernNotifier(handler.notify, view);
  return handler;
}

/**
 * While calls in flight drain, the listening socket stays open (closing it
 * would reset connections the kernel has accepted but the gateway has not
 * read yet, and a proxy cannot tell whether those requests ran) and new
 * work is refused without running: a request without a session gets 503
 * with Retry-After (a proxy retries it on another replica: nginx with
 * `proxy_next_upstream … http_503 non_idempotent`, and marks this replica
 * failed meanwhile), a session's new request gets 404 (the session ends
 * with this replica; the client initializes again elsewhere). What a
 * session sends to finish a call in flight (responses to its server
 * requests, notifications) and probes still get through. Every answer
 * closes its connection.
 */
function refuseWhileDraining(draining: () => boolean, maxBodyBytes: number) {
  return (req: Request, res: Response, next: NextFunction): void => {
    if (!draining()) return next();
    res.setHeader('Connection', 'close');
    if (req.method === 'GET' && (req.path === '/healthz' || req.path === '/readyz' || req.path === '/metrics')) return next();
    if (req.header('mcp-session-id') || req.path === '/messages') {
      if (req.method !== 'POST') return void res.status(404).json(rpcError(JsonRpc.SESSION_NOT_FOUND, 'Session not found: this replica is shutting down'));
      // The body decides (a response to the gateway's own request may finish a call in flight).
      return void express.json({ limit: maxBodyBytes })(req, res, () => {
        if (!carriesRequests(req.body)) return next();
        res.status(404).json(rpcError(JsonRpc.SESSION_NOT_FOUND, 'Session not found: this replica is shutting down'));
      });
    }
    res.status(503).set('Retry-After', '1').json(rpcError(JsonRpc.BAD_REQUEST, 'Service unavailable: this replica is shutting down; retry'));
  };
}

function carriesRequests(body: unknown): boolean {
  const messages = Array.isArray(body) ? body : [body];
  return messages.some((m) => m !== null && typeof m === 'object' && 'method' in m && 'id' in m);
}

/** The resource URIs a `subscriptions/listen` request asks updates for. */
function listenedResources(body: unknown): string[] {
  const message = body as { method?: unknown; params?: { notifications?: { resourceSubscriptions?: unknown } } } | undefined;
  if (message?.method !== 'subscriptions/listen') return [];
  const uris = message.params?.notifications?.resourceSubscriptions;
  return Array.isArray(uris) ? uris.filter((u): u is string => typeof u === 'string') : [];
}

/** Body-parser and unexpected errors as JSON-RPC errors, never an HTML page. */
function jsonErrorHandler(log: Logger) {
  return (err: unknown, _req: Request, res: Response, _next: NextFunction): void => {
    const e = err as { type?: string; status?: number; message?: string };
    if (res.headersSent) return void res.end();
    if (e.type === 'entity.too.large') return void res.status(413).json(rpcError(JsonRpc.INVALID_REQUEST, 'Request body too large'));
    if (e.type === 'entity.parse.failed') return void res.status(400).json(rpcError(JsonRpc.PARSE_ERROR, 'Parse error'));
    // A body nested deeper than the parser or validator can walk is the client's fault, not ours.
    if (err instanceof RangeError) return void res.status(400).json(rpcError(JsonRpc.INVALID_REQUEST, 'Request nested too deeply'));
    if (typeof e.status === 'number' && e.status >= 400 && e.status < 500) {
      return void res.status(e.status).json(rpcError(JsonRpc.INVALID_REQUEST, e.message ?? 'Bad request'));
    }
    answerInternalError(res, log, err);
  };
}
