/**
 * The 2025-era HTTP transports: Streamable HTTP with one transport and one
 * SDK server per session, and the 2024-11-05 HTTP+SSE pair. A session belongs
 * to the endpoint (profile) it was opened on and to the principal that opened
 * it; anything else presenting its id is turned away.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Request, Response } from 'express';
import { isInitializeRequest } from '@modelcontextprotocol/server';
import { SSEServerTransport } from '@modelcontextprotocol/server-legacy/sse';
import type { Principal } from '../core/principal.js';
import { JsonRpc } from '../core/errors.js';
import type { Logger } from '../observability/log.js';
import type { View } from '../pipeline/view.js';
import type { Admission } from './admission.js';
import { principalOf } from './principal.js';
import { refusal, rpcError, sendRefusal } from './responses.js';
import { boundClientInfo } from './client-info.js';
import type { Hub } from '../session/hub.js';
import type { SessionState } from '../session/server.js';
import { admissionRefusal, type SessionLimiter } from './session-limits.js';
import { SessionHttpTransport } from './session-transport.js';
import { BoundedSseStream, type StreamLimits } from './bounded-stream.js';
import type { JSONRPCMessage } from '@modelcontextprotocol/server';

/** What both 2025-era transports need; one object, since they open sessions the same way. */
export interface LegacyDeps {
  hub: Hub;
  /** Whose session it is (the last of the ordered checks, admission.ts). */
  admission: Admission;
  log: Logger;
  newSessionId: () => string;
  /** Admits each new session under gateway.limits (both transports count against the same caps). */
  limiter: SessionLimiter;
  /** The bound on what each SSE stream queues for a client that does not read (bounded-stream.ts). */
  streams?: StreamLimits;
}

/** 2025-era Streamable HTTP: one transport and one SDK server per session. */
export class LegacyStreamableHttp {
  private readonly transports = new Map<string, SessionHttpTransport>();

  constructor(private readonly deps: LegacyDeps) {}

  /** Whether this replica holds the session. */
  has(sessionId: string): boolean {
    return this.transports.has(sessionId);
  }

  /** A request of an open session, from express or from the session fast path (http.ts). */
  serve(sessionId: string, principal: Principal, req: IncomingMessage, res: ServerResponse, body: unknown, view: View): Promise<void> | void {
    const transport = this.transports.get(sessionId);
    const refused = transport ? this.deps.admission.session(sessionId, principal, view) : refusal(404, JsonRpc.SESSION_NOT_FOUND, 'Session not found');
    if (refused) return sendRefusal(res, refused);
    return transport!.handleRequest(req, res, body);
  }

  async handle(req: Request, res: Response, view: View): Promise<void> {
    const sessionId = req.header('mcp-session-id');
    if (sessionId) return this.serve(sessionId, principalOf(res), req, res, req.body, view);
    if (req.method !== 'POST' || !isInitializeRequest(req.body)) {
      return void res.status(400).json(rpcError(JsonRpc.BAD_REQUEST, 'Bad Request: Mcp-Session-Id header is required'));
    }
    return this.open(req, res, view);
  }

  private async open(req: Request, res: Response, view: View): Promise<void> {
    const admission = this.deps.limiter.admit(principalOf(res).id);
    if (!admission.admitted) return sendRefusal(res, admissionRefusal(admission, (req.body as { id?: unknown }).id));
    try {
      await this.openAdmitted(req, res, view);
    } finally {
      // Registered by now (initialize is accepted synchronously), or refused by the transport.
      admission.release();
    }
  }

  private async openAdmitted(req: Request, res: Response, view: View): Promise<void> {
    const state: SessionState = { info: { id: '', transport: 'streamable-http', era: 'legacy', profile: view.profile }, principal: principalOf(res), view };
    const server = this.deps.hub.createServer(state);
    const transport = new SessionHttpTransport({
      newSessionId: this.deps.newSessionId,
      streams: this.deps.streams,
      onSessionInitialized: (id) => {
        state.info.id = id;
        this.transports.set(id, transport);
        this.deps.hub.register(state.info, server, state, () => transport.close());
        this.deps.log.debug('session opened', { session: id, transport: 'streamable-http' });
      },
    });
    transport.onclose = () => {
      const id = transport.sessionId;
      if (!id) return;
      this.transports.delete(id);
      void this.deps.hub.sessions.get(id)?.close();
    };
    await server.connect(transport);
    await transport.handleRequest(req, res, boundClientInfo(req.body));
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

/**
 * The SDK's HTTP+SSE transport writes every message straight to its stream;
 * here they go through a bounded one instead. This stream is the whole
 * session: given up on (its client stopped reading), it closes, and the
 * session with it.
 */
class BoundedSseTransport extends SSEServerTransport {
  private readonly stream: BoundedSseStream;

  constructor(endpoint: string, res: ServerResponse, limits: StreamLimits | undefined) {
    super(endpoint, res);
    this.stream = new BoundedSseStream(res, limits);
  }

  override async send(message: JSONRPCMessage): Promise<void> {
    if (this.stream.closed) throw new Error('Not connected');
    this.stream.send(message);
  }
}

/** The 2024-11-05 HTTP+SSE transport, for clients that still speak it. */
export class LegacySse {
  private readonly transports = new Map<string, SSEServerTransport>();

  constructor(private readonly deps: LegacyDeps) {}

  async open(req: Request, res: Response, view: View): Promise<void> {
    const admission = this.deps.limiter.admit(principalOf(res).id);
    if (!admission.admitted) return sendRefusal(res, admissionRefusal(admission));
    try {
      await this.openAdmitted(req, res, view);
    } finally {
      admission.release();
    }
  }

  private async openAdmitted(_req: Request, res: Response, view: View): Promise<void> {
    const transport = new BoundedSseTransport('/messages', res, this.deps.streams);
    nameSession(transport, this.deps.newSessionId());
    const state: SessionState = {
      info: { id: transport.sessionId, transport: 'sse', era: 'legacy', profile: view.profile },
      principal: principalOf(res),
      view,
    };
    const server = this.deps.hub.createServer(state);
    this.transports.set(transport.sessionId, transport);
    this.deps.hub.register(state.info, server, state, () => transport.close());
    transport.onclose = () => {
      this.transports.delete(transport.sessionId);
      void this.deps.hub.sessions.get(transport.sessionId)?.close();
    };
    this.deps.log.debug('session opened', { session: transport.sessionId, transport: 'sse' });
    await server.connect(transport);
  }

  async post(req: Request, res: Response): Promise<void> {
    const sessionId = req.query.sessionId;
    const transport = typeof sessionId === 'string' ? this.transports.get(sessionId) : undefined;
    const session = transport && this.deps.hub.sessions.get(transport.sessionId);
    if (!transport || !session) return sendRefusal(res, refusal(404, JsonRpc.SESSION_NOT_FOUND, 'Session not found'));
    const refused = this.deps.admission.session(transport.sessionId, principalOf(res), session.view);
    if (refused) return sendRefusal(res, refused);
    // An SSE session's initialize arrives here, after GET /sse opened it.
    await transport.handlePostMessage(req, res, boundClientInfo(req.body));
  }
}
