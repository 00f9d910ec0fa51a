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
import { GatewayError, JsonRpc } from '../errors.js';
import type { Logger } from '../observability/log.js';
import type { Hub } from './hub.js';
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

  app.use(checkHostAndOrigin(settings));
  // Authentication runs before the body is even parsed: an anonymous caller costs nothing.
  const authenticated = authenticate(options.authenticate);
  app.use([settings.path, '/sse', '/messages'], authenticated);
  app.use(express.json({ limit: settings.maxBodyBytes, type: ['application/json', 'application/*+json'] }));

  const modern = createModernHandler(hub);
  const modernNode = toNodeHandler(modern);
  const legacy = new LegacyStreamableHttp(hub, log);
  const sse = new LegacySse(hub, log);

  app.post(settings.path, async (req, res) => {
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
      const session = this.hub.sessions.get(sessionId);
      if (!transport || !session) {
        // The spec's answer: 404, and the client starts a new session.
        return void res.status(404).json(rpcError(JsonRpc.SESSION_NOT_FOUND, 'Session not found'));
      }
      if (!samePrincipal(session.principal, principalOf(res))) return void res.status(403).json(rpcError(JsonRpc.INVALID_REQUEST, 'Session belongs to another principal'));
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
    const session = transport && this.hub.sessions.get(transport.sessionId);
    if (!transport || !session) {
      return void res.status(404).json(rpcError(JsonRpc.SESSION_NOT_FOUND, 'Session not found'));
    }
    if (!samePrincipal(session.principal, principalOf(res))) return void res.status(403).json(rpcError(JsonRpc.INVALID_REQUEST, 'Session belongs to another principal'));
    await transport.handlePostMessage(req, res, req.body);
  }
}

/** Authenticates every MCP request; a failure is 401 with a Bearer challenge. */
function authenticate(authenticator: HttpAuthenticator) {
  return function authenticateRequest(req: Request, res: Response, next: NextFunction): void {
    try {
      res.locals.principal = authenticator(req.headers);
      next();
    } catch (err) {
      if (!(err instanceof GatewayError)) return next(err);
      res.setHeader('WWW-Authenticate', 'Bearer realm="switchboard"');
      res.status(401).json({ jsonrpc: '2.0', error: err.toJsonRpcError(), id: null });
    }
  };
}

function principalOf(res: Response): Principal {
  return (res.locals.principal as Principal | undefined) ?? ANONYMOUS;
}

/** A session is bound to the principal that opened it: its id is not a credential. */
function samePrincipal(a: Principal, b: Principal): boolean {
  return a.id === b.id;
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
