/**
 * The 2025-era HTTP transports: Streamable HTTP with one transport and one
 * SDK server per session, and the 2024-11-05 HTTP+SSE pair. A session belongs
 * to the endpoint (profile) it was opened on and to the principal that opened
 * it; anything else presenting its id is turned away.
 */
import { randomUUID } from 'node:crypto';
import type { Request, Response } from 'express';
import { NodeStreamableHTTPServerTransport } from '@modelcontextprotocol/node';
import { isInitializeRequest } from '@modelcontextprotocol/server';
import { SSEServerTransport } from '@modelcontextprotocol/server-legacy/sse';
import { JsonRpc } from '../errors.js';
import type { Logger } from '../observability/log.js';
import type { View } from '../pipeline/view.js';
import { principalOf, rpcError, sessionUsable } from './http-auth.js';
import type { Hub } from './hub.js';
import type { SessionState } from './server.js';

/** 2025-era Streamable HTTP: one transport and one SDK server per session. */
export class LegacyStreamableHttp {
  private readonly transports = new Map<string, NodeStreamableHTTPServerTransport>();
  /** Request ids awaiting an answer, per session: a reused one would never be answered. */
  private readonly pendingIds = new Map<string, Set<string>>();

  constructor(
    private readonly hub: Hub,
    private readonly log: Logger,
    private readonly newSessionId: () => string = randomUUID,
  ) {}

  async handle(req: Request, res: Response, view: View): Promise<void> {
    const sessionId = req.header('mcp-session-id');
    if (sessionId) {
      const transport = this.transports.get(sessionId);
      if (!transport) return void res.status(404).json(rpcError(JsonRpc.SESSION_NOT_FOUND, 'Session not found'));
      if (!sessionUsable(this.hub, sessionId, res, view)) return;
      if (!this.claimIds(sessionId, req.body, res)) {
        return void res.status(400).json(rpcError(JsonRpc.INVALID_REQUEST, 'Invalid Request: a request with this id is still in flight on this session'));
      }
      return transport.handleRequest(req, res, req.body);
    }
    if (req.method !== 'POST' || !isInitializeRequest(req.body)) {
      return void res.status(400).json(rpcError(JsonRpc.BAD_REQUEST, 'Bad Request: Mcp-Session-Id header is required'));
    }
    return this.open(req, res, view);
  }

  private async open(req: Request, res: Response, view: View): Promise<void> {
    const state: SessionState = { info: { id: '', transport: 'streamable-http', era: 'legacy', profile: view.profile }, principal: principalOf(res), view };
    const server = this.hub.createServer(state);
    const transport = new NodeStreamableHTTPServerTransport({
      sessionIdGenerator: this.newSessionId,
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
      this.pendingIds.delete(id);
      void this.hub.sessions.get(id)?.close();
    };
    await server.connect(transport);
    await transport.handleRequest(req, res, req.body);
  }

  /**
   * Marks the body's request ids as in flight until this HTTP exchange ends.
   * False when one is already in flight: JSON-RPC ids must be unique among a
   * session's open requests, and the SDK would map both answers to one stream.
   */
  private claimIds(sessionId: string, body: unknown, res: Response): boolean {
    const ids = requestIds(body);
    if (ids.length === 0) return true;
    let pending = this.pendingIds.get(sessionId);
    if (!pending) this.pendingIds.set(sessionId, (pending = new Set()));
    if (ids.some((id) => pending.has(id))) return false;
    for (const id of ids) pending.add(id);
    res.once('close', () => {
      for (const id of ids) pending.delete(id);
    });
    return true;
  }
}

/**
 * Session ids are random; with `gateway.replicaId` they start with it
 * (`<replicaId>.<uuid>`), so a load balancer can send every request of a
 * session to the replica that holds it.
 */
export function sessionIds(replicaId: string | undefined): () => string {
  return replicaId === undefined ? randomUUID : () => `${replicaId}.${randomUUID()}`;
}

/**
 * SSEServerTransport draws its own id and has no option for it; it is
 * replaced before the transport starts (the id is first sent in its
 * `endpoint` event). If a future SDK renames the field, its own random id
 * stays: sessions still work, only without the replica prefix.
 */
function nameSession(transport: SSEServerTransport, id: string): void {
  const fields = transport as unknown as { _sessionId?: string };
  if (typeof fields._sessionId === 'string') fields._sessionId = id;
}

/** The ids of the requests (not notifications or responses) in a POST body, as map keys. */
function requestIds(body: unknown): string[] {
  const messages = Array.isArray(body) ? body : [body];
  const ids: string[] = [];
  for (const m of messages) {
    if (m && typeof m === 'object' && 'method' in m && 'id' in m) {
      const id = (m as { id: unknown }).id;
      if (typeof id === 'string' || typeof id === 'number') ids.push(typeof id === 'string' ? `s:${id}` : `n:${id}`);
    }
  }
  return ids;
}

/** The 2024-11-05 HTTP+SSE transport, for clients that still speak it. */
export class LegacySse {
  private readonly transports = new Map<string, SSEServerTransport>();

  constructor(
    private readonly hub: Hub,
    private readonly log: Logger,
    private readonly newSessionId: () => string = randomUUID,
  ) {}

  async open(_req: Request, res: Response, view: View): Promise<void> {
    const transport = new SSEServerTransport('/messages', res);
    nameSession(transport, this.newSessionId());
    const state: SessionState = { info: { id: transport.sessionId, transport: 'sse', era: 'legacy', profile: view.profile }, principal: principalOf(res), view };
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
    if (!transport || !session || !sessionUsable(this.hub, transport.sessionId, res, session.view)) {
      if (!res.headersSent) res.status(404).json(rpcError(JsonRpc.SESSION_NOT_FOUND, 'Session not found'));
      return;
    }
    await transport.handlePostMessage(req, res, req.body);
  }
}
