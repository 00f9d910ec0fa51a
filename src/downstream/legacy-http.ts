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

  constructor(
    private readonly hub: Hub,
    private readonly log: Logger,
  ) {}

  async handle(req: Request, res: Response, view: View): Promise<void> {
    const sessionId = req.header('mcp-session-id');
    if (sessionId) {
      const transport = this.transports.get(sessionId);
      if (!transport) return void res.status(404).json(rpcError(JsonRpc.SESSION_NOT_FOUND, 'Session not found'));
      if (!sessionUsable(this.hub, sessionId, res, view)) return;
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
export class LegacySse {
  private readonly transports = new Map<string, SSEServerTransport>();

  constructor(
    private readonly hub: Hub,
    private readonly log: Logger,
  ) {}

  async open(_req: Request, res: Response, view: View): Promise<void> {
    const transport = new SSEServerTransport('/messages', res);
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
