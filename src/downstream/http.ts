/**
 * The HTTP front: Streamable HTTP on `/mcp` (sessionful for 2025-era
 * clients, stateless for 2026-07-28 clients), legacy HTTP+SSE on
 * `/sse` + `/messages`, and the health endpoints. Host and Origin are checked
 * on every request before anything else runs.
 */
import { randomUUID } from 'node:crypto';
import express, { type Express, type NextFunction, type Request, type Response } from 'express';
import { NodeStreamableHTTPServerTransport, toNodeHandler, toWebRequest } from '@modelcontextprotocol/node';
import { createMcpHandler, isInitializeRequest, isLegacyRequest, type AuthInfo, type McpHttpHandler } from '@modelcontextprotocol/server';
import { SSEServerTransport } from '@modelcontextprotocol/server-legacy/sse';
import type { GatewaySettings } from '../config/schema.js';
import { ANONYMOUS, type Principal } from '../auth/principal.js';
import type { HttpAuthenticator } from '../auth/http.js';
import { looksLikeJwt } from '../auth/jwt.js';
import { bearerChallenge, metadataUrls, protectedResourceMetadata, unauthorizedChallenge, WELL_KNOWN_PATH } from '../auth/resource-metadata.js';
import { denial } from '../pipeline/authorize.js';
import type { SessionInfo } from '../pipeline/index.js';
import type { Decision } from '../policy/types.js';
import { GatewayError, JsonRpc } from '../errors.js';
import type { Logger } from '../observability/log.js';
import type { Hub } from './hub.js';
import type { MetricsHandler } from './metrics-endpoint.js';
import { checkHostAndOrigin } from './origin.js';
import type { SessionState } from './server.js';

export interface HttpFrontOptions {
  hub: Hub;
  /** Who is calling, from the request's headers; throws UNAUTHENTICATED. */
  authenticate: HttpAuthenticator;
  settings: Pick<GatewaySettings, 'listen' | 'path' | 'allowedOrigins' | 'allowedHosts' | 'maxBodyBytes'>;
  log: Logger;
  /** The body of `/readyz`, and whether the gateway is ready. */
  readiness: () => { ready: boolean; body: unknown };
  /** `/metrics` on this port (absent when disabled or served on its own port). */
  metrics?: MetricsHandler;
  /** Set when bearer JWTs are accepted: RFC 9728 metadata is served and 401s point to it. */
  protectedResource?: ProtectedResource;
  /** A request the policy would refuse only for missing scopes (see pipeline/preflight.ts). */
  scopeShortfall?: (who: { principal: Principal; session: SessionInfo }, message: unknown) => Decision | undefined;
}

export interface ProtectedResource {
  /** The canonical URL of the MCP endpoint (auth.resource, else this server's own URL + path); asked per request. */
  resource: () => string;
  authorizationServers: string[];
  scopesSupported: string[];
}

export interface HttpFront {
  app: Express;
  close(): Promise<void>;
}

export function createHttpFront(options: HttpFrontOptions): HttpFront {
  const { hub, settings, log } = options;
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', false);

  app.get('/healthz', (_req, res) => void res.json({ status: 'ok' }));
  app.get('/readyz', (_req, res) => {
    const { ready, body } = options.readiness();
    res.status(ready ? 200 : 503).json(body);
  });

  // Probes and scrapers come from other hosts by IP: these sit before the Host check.
  if (options.metrics) app.get('/metrics', options.metrics);
  const pr = options.protectedResource;
  if (pr) {
    // Public, and fetched cross-origin by browser-based clients: before the Host/Origin check, with CORS.
    const serveMetadata = (_req: Request, res: Response) => {
      res.setHeader('Access-Control-Allow-Origin', '*');
      res.json(protectedResourceMetadata({ resource: pr.resource(), authorizationServers: pr.authorizationServers, scopesSupported: pr.scopesSupported }));
    };
    app.get(WELL_KNOWN_PATH, serveMetadata);
    app.get(`${WELL_KNOWN_PATH}${settings.path}`, serveMetadata);
  }
  app.use(checkHostAndOrigin(settings));
  // Authentication runs before the body is even parsed: an anonymous caller costs nothing.
  const authenticated = authenticate(
    options.authenticate,
    pr && (() => ({ resourceMetadataUrl: metadataUrls(pr.resource()).pathInserted, scope: pr.scopesSupported })),
  );
  app.use([settings.path, '/sse', '/messages'], authenticated);
  app.use(express.json({ limit: settings.maxBodyBytes, type: ['application/json', 'application/*+json'] }));

  const modern = createModernHandler(hub);
  const modernNode = toNodeHandler(modern);
  const legacy = new LegacyStreamableHttp(hub, log);
  const sse = new LegacySse(hub, log);

  app.post(settings.path, async (req, res) => {
    if (pr && options.scopeShortfall && refuseForScope(req, res, pr, options.scopeShortfall)) return;
    // A session id is a 2025-era session by definition; everything else is classified by the SDK.
    if (req.header('mcp-session-id') || (await isLegacyRequest(await toWebRequest(req, req.body), req.body))) {
      return legacy.handle(req, res);
    }
    // The stateless handler hands this to the per-request server factory.
    const principal = principalOf(res);
    (req as Request & { auth?: AuthInfo }).auth = { token: '', clientId: principal.id, scopes: principal.scopes, extra: { principal } };
    return modernNode(req, res, req.body);
  });
  app.get(settings.path, (req, res) => legacy.handle(req, res));
  app.delete(settings.path, (req, res) => legacy.handle(req, res));
  app.get('/sse', (req, res) => sse.open(req, res));
  app.post('/messages', (req, res) => sse.post(req, res));

  app.use(jsonErrorHandler(log));
  return {
    app,
    async close() {
      await modern.close().catch(() => {});
    },
  };
}

function createModernHandler(hub: Hub): McpHttpHandler {
  const handler = createMcpHandler(
    ({ authInfo }) => {
      const principal = (authInfo?.extra?.principal as Principal | undefined) ?? ANONYMOUS;
      const state: SessionState = { info: { id: `stateless-${randomUUID()}`, transport: 'streamable-http', era: 'modern' }, principal };
      return hub.createServer(state);
    },
    // 2025-era traffic is routed to the sessionful transport before it gets here.
    { legacy: 'reject', responseMode: 'auto' },
  );
  hub.addModernNotifier(handler.notify);
  return handler;
}

/** 2025-era Streamable HTTP: one transport and one SDK server per session. */
class LegacyStreamableHttp {
  private readonly transports = new Map<string, NodeStreamableHTTPServerTransport>();

  constructor(
    private readonly hub: Hub,
    private readonly log: Logger,
  ) {}

  async handle(req: Request, res: Response): Promise<void> {
    const sessionId = req.header('mcp-session-id');
    if (sessionId) {
      const transport = this.transports.get(sessionId);
      if (!transport) return void res.status(404).json(rpcError(JsonRpc.SESSION_NOT_FOUND, 'Session not found'));
      if (!sessionUsable(this.hub, sessionId, res)) return;
      return transport.handleRequest(req, res, req.body);
    }
    if (req.method !== 'POST' || !isInitializeRequest(req.body)) {
      return void res.status(400).json(rpcError(JsonRpc.BAD_REQUEST, 'Bad Request: Mcp-Session-Id header is required'));
    }
    return this.open(req, res);
  }

  private async open(req: Request, res: Response): Promise<void> {
    const state: SessionState = { info: { id: '', transport: 'streamable-http', era: 'legacy' }, principal: principalOf(res) };
    const server = this.hub.createServer(state);
    const transport = new NodeStreamableHTTPServerTransport({
      sessionIdGenerator: () => randomUUID(),
      onsessioninitialized: (id) => {
        state.info.id = id;
        this.transports.set(id, transport);
        this.hub.register(state.info, server, state, () => transport.close());
        this.log.debug('session opened', { session: id, transport: 'streamable-http' });
      },
    });
    transport.onclose = () => {
      const id = transport.sessionId;
      if (!id) return;
      this.transports.delete(id);
      void this.hub.sessions.get(id)?.close();
    };
    await server.connect(transport);
    await transport.handleRequest(req, res, req.body);
  }
}

/** The 2024-11-05 HTTP+SSE transport, for clients that still speak it. */
class LegacySse {
  private readonly transports = new Map<string, SSEServerTransport>();

  constructor(
    private readonly hub: Hub,
    private readonly log: Logger,
  ) {}

  async open(_req: Request, res: Response): Promise<void> {
    const transport = new SSEServerTransport('/messages', res);
    const state: SessionState = { info: { id: transport.sessionId, transport: 'sse', era: 'legacy' }, principal: principalOf(res) };
    const server = this.hub.createServer(state);
    this.transports.set(transport.sessionId, transport);
    this.hub.register(state.info, server, state, () => transport.close());
    transport.onclose = () => {
      this.transports.delete(transport.sessionId);
      void this.hub.sessions.get(transport.sessionId)?.close();
    };
    this.log.debug('session opened', { session: transport.sessionId, transport: 'sse' });
    await server.connect(transport);
  }

  async post(req: Request, res: Response): Promise<void> {
    const sessionId = req.query.sessionId;
    const transport = typeof sessionId === 'string' ? this.transports.get(sessionId) : undefined;
    if (!transport || !sessionUsable(this.hub, transport.sessionId, res)) {
      if (!res.headersSent) res.status(404).json(rpcError(JsonRpc.SESSION_NOT_FOUND, 'Session not found'));
      return;
    }
    await transport.handlePostMessage(req, res, req.body);
  }
}

/**
 * An OAuth client that lacks a scope the policy requires is told so while
 * the HTTP status can still say it: 403 with `error="insufficient_scope"` and
 * the scopes to ask for, so it can step up. (API-key callers cannot step up:
 * they get the in-band JSON-RPC error from the pipeline instead.)
 */
function refuseForScope(req: Request, res: Response, pr: ProtectedResource, shortfall: NonNullable<HttpFrontOptions['scopeShortfall']>): boolean {
  const bearer = /^Bearer\s+(.+)$/i.exec(req.header('authorization') ?? '')?.[1]?.trim();
  if (!bearer || !looksLikeJwt(bearer)) return false;
  const principal = principalOf(res);
  const sessionId = req.header('mcp-session-id');
  const session: SessionInfo = { id: sessionId ?? 'preflight', transport: 'streamable-http', era: sessionId ? 'legacy' : 'modern' };
  const decision = shortfall({ principal, session }, req.body);
  if (!decision) return false;
  const scope = [...new Set([...principal.scopes, ...(decision.missingScopes ?? [])])];
  res.setHeader('WWW-Authenticate', bearerChallenge({ error: 'insufficient_scope', scope, resourceMetadataUrl: metadataUrls(pr.resource()).pathInserted }));
  const id = (req.body as { id?: unknown } | undefined)?.id ?? null;
  res.status(403).json({ jsonrpc: '2.0', error: denial(decision).toJsonRpcError(), id });
  return true;
}

/** Authenticates every MCP request; a failure is 401 with a Bearer challenge. */
function authenticate(authenticator: HttpAuthenticator, challenge?: () => { resourceMetadataUrl: string; scope: string[] }) {
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
    next();
  };
}

function principalOf(res: Response): Principal {
  return (res.locals.principal as Principal | undefined) ?? ANONYMOUS;
}

/**
 * Whether a request may use this session, answering it when not: an unknown
 * or expired session is the spec's 404 (the client starts a new one); a
 * session is bound to the principal that opened it, since its id is not a
 * credential, so anyone else gets 403.
 */
function sessionUsable(hub: Hub, sessionId: string, res: Response): boolean {
  const session = hub.sessions.get(sessionId);
  if (!session) {
    res.status(404).json(rpcError(JsonRpc.SESSION_NOT_FOUND, 'Session not found'));
    return false;
  }
  if (session.principal.id !== principalOf(res).id) {
    res.status(403).json(rpcError(JsonRpc.INVALID_REQUEST, 'Session belongs to another principal'));
    return false;
  }
  return true;
}

function rpcError(code: number, message: string): object {
  return { jsonrpc: '2.0', error: { code, message }, id: null };
}

/** Body-parser and unexpected errors as JSON-RPC errors, never an HTML page. */
function jsonErrorHandler(log: Logger) {
  return (err: unknown, _req: Request, res: Response, _next: NextFunction): void => {
    const e = err as { type?: string; status?: number; message?: string };
    if (res.headersSent) return void res.end();
    if (e.type === 'entity.too.large') return void res.status(413).json(rpcError(JsonRpc.INVALID_REQUEST, 'Request body too large'));
    if (e.type === 'entity.parse.failed') return void res.status(400).json(rpcError(JsonRpc.PARSE_ERROR, 'Parse error'));
    if (typeof e.status === 'number' && e.status >= 400 && e.status < 500) {
      return void res.status(e.status).json(rpcError(JsonRpc.INVALID_REQUEST, e.message ?? 'Bad request'));
    }
    log.error('unhandled HTTP error', { error: e.message });
    res.status(500).json(rpcError(JsonRpc.INTERNAL_ERROR, 'Internal error'));
  };
}
