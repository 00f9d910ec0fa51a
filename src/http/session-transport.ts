/**
 * The server side of one 2025-era Streamable HTTP session, written straight
 * onto node's request and response. The SDK's transport speaks Web
 * Request/Response and reaches node through @hono/node-server, which costs a
 * Request, a ReadableStream and a conversion per POST: about a third of the
 * gateway's CPU per forwarded call (bench/profile.mjs). This one keeps the
 * SDK transport's wire behaviour without an event store (no resumability):
 * the same status codes and JSON-RPC errors, one SSE stream per POST carrying
 * the messages related to its requests, one standalone GET stream, DELETE.
 *
 * One difference on purpose: a POST whose first message to send is its only
 * request's answer gets that answer as `application/json` (the client accepts
 * both, the Accept check makes sure); a POST whose call sends anything first
 * (progress, logging, a server-to-client request) gets an SSE stream. Either
 * way a call still silent after `keepAliveMs` is switched to SSE, so proxies
 * see bytes.
 *
 * SSE goes through a bounded stream (bounded-stream.ts): a client that stops
 * reading gets its logs dropped, then the stream closed, and the calls that
 * stream carried are cancelled (they could never be answered).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  SUPPORTED_PROTOCOL_VERSIONS,
  parseJSONRPCMessage,
  type AuthInfo,
  type JSONRPCMessage,
  type RequestId,
  type Transport,
  type TransportSendOptions,
} from '@modelcontextprotocol/server';
import { JsonRpc } from '../core/errors.js';
import { isInitialize, isRequest, isResponse } from '../core/json-rpc.js';
import type { StreamLimits } from './bounded-stream.js';
import { rpcError, sendJson } from './responses.js';
import { Exchange } from './session-exchange.js';

const MAX_BATCH = 100;
const KEEP_ALIVE_MS = 15_000;

export interface SessionTransportOptions {
  newSessionId: () => string;
  /** Called once `initialize` has been accepted, before it is handled. */
  onSessionInitialized: (id: string) => void;
  keepAliveMs?: number;
  /** The bound on what each SSE stream may queue for a client that does not read, and where drops are counted. */
  streams?: StreamLimits;
}

export class SessionHttpTransport implements Transport {
  sessionId?: string;
  onclose?: () => void;
  onerror?: (error: Error) => void;
  onmessage?: Transport['onmessage'];

  private initialized = false;
  private closed = false;
  private supportedVersions: readonly string[] = SUPPORTED_PROTOCOL_VERSIONS;
  /** Request id → the POST exchange its answer goes to (kept until answered, even if the client left). */
  private readonly exchanges = new Map<RequestId, Exchange>();
  private standalone?: Exchange;
  private readonly keepAliveMs: number;

  constructor(private readonly options: SessionTransportOptions) {
    this.keepAliveMs = options.keepAliveMs ?? KEEP_ALIVE_MS;
  }

  async start(): Promise<void> {}

  setSupportedProtocolVersions(versions: string[]): void {
    this.supportedVersions = versions;
  }

  /** Serves one HTTP request of this session; `body` is the parsed JSON body of a POST. */
  async handleRequest(req: IncomingMessage, res: ServerResponse, body: unknown): Promise<void> {
    if (req.method === 'POST') return this.post(req, res, body);
    if (req.method === 'GET') return this.openStandalone(req, res);
    if (req.method === 'DELETE') return this.terminate(req, res);
    res.setHeader('Allow', 'GET, POST, DELETE');
    return reject(res, 405, JsonRpc.BAD_REQUEST, 'Method not allowed.');
  }

  private post(req: IncomingMessage, res: ServerResponse, body: unknown): void {
    const accept = req.headers.accept ?? '';
    if (!accept.includes('application/json') || !accept.includes('text/event-stream')) {
      return reject(res, 406, JsonRpc.BAD_REQUEST, 'Not Acceptable: Client must accept both application/json and text/event-stream');
    }
    if (!isJsonContentType(req.headers['content-type'])) {
      return reject(res, 415, JsonRpc.BAD_REQUEST, 'Unsupported Media Type: Content-Type must be application/json');
    }
    if (Array.isArray(body) && body.length > MAX_BATCH) {
      return reject(res, 400, JsonRpc.INVALID_REQUEST, `Invalid Request: Batch must not exceed ${MAX_BATCH} messages`);
    }
    const messages = parseMessages(body);
    // The body is JSON (a parse error was answered before): a value that is not a JSON-RPC message is an invalid request.
    if (!messages) return reject(res, 400, JsonRpc.INVALID_REQUEST, 'Invalid Request: not a JSON-RPC 2.0 message');
    if (this.closed) return reject(res, 404, JsonRpc.SESSION_NOT_FOUND, 'Session not found');

    const initializing = messages.some(isInitialize);
    if (initializing) {
      if (this.initialized) return reject(res, 400, JsonRpc.INVALID_REQUEST, 'Invalid Request: Server already initialized');
      if (messages.length > 1) return reject(res, 400, JsonRpc.INVALID_REQUEST, 'Invalid Request: Only one initialization request is allowed');
      this.sessionId = this.options.newSessionId();
      this.initialized = true;
      this.options.onSessionInitialized(this.sessionId);
    } else if (!this.acceptsSessionHeaders(req, res)) {
      return;
    }

    // Who sent this POST (http-auth.ts attachPrincipal), as the SDK's own transports pass it on.
    const extra = { authInfo: (req as IncomingMessage & { auth?: AuthInfo }).auth };
    const requestIds = messages.filter(isRequest).map((m) => m.id);
    if (requestIds.length === 0) {
      for (const message of messages) this.onmessage?.(message, extra);
      for (const id of cancelledIds(messages)) this.forget(id);
      res.writeHead(202).end();
      return;
    }
    // JSON-RPC ids are unique among a session's open requests: a reused one could never be answered.
    if (requestIds.some((id) => this.exchanges.has(id)) || new Set(requestIds).size < requestIds.length) {
      return reject(res, 400, JsonRpc.INVALID_REQUEST, 'Invalid Request: a request with this id is still in flight on this session');
    }
    const exchange = new Exchange(res, this.sessionId, requestIds, this.keepAliveMs, this.options.streams, (ids) => this.abandon(ids));
    for (const id of requestIds) this.exchanges.set(id, exchange);
    for (const message of messages) this.onmessage?.(message, extra);
    for (const id of cancelledIds(messages)) this.forget(id);
  }

  /**
   * A cancelled request is never answered (the server drops it), so its id
   * is released here, and its exchange ends if it waits for nothing else.
   */
  private forget(id: RequestId): void {
    const exchange = this.exchanges.get(id);
    if (!exchange) return;
    this.exchanges.delete(id);
    exchange.cancel(id);
  }

  /**
   * A stream given up on because its client stopped reading: the calls it
   * carried can never be answered, so they end as if the client had
   * cancelled them (the upstream is told, and stops working for nobody).
   */
  private abandon(ids: RequestId[]): void {
    for (const requestId of ids) {
      this.exchanges.delete(requestId);
      this.onmessage?.({
        jsonrpc: '2.0',
        method: 'notifications/cancelled',
        params: { requestId, reason: 'the client stopped reading the stream of this request' },
      });
    }
  }

  private openStandalone(req: IncomingMessage, res: ServerResponse): void {
    if (!(req.headers.accept ?? '').includes('text/event-stream')) {
      return reject(res, 406, JsonRpc.BAD_REQUEST, 'Not Acceptable: Client must accept text/event-stream');
    }
    // A Last-Event-ID is ignored: nothing is stored to replay, and a reconnecting client is better served by a new
    // stream than by a refusal that would end its notifications (the SDK transport without an event store does the same).
    if (!this.acceptsSessionHeaders(req, res)) return;
    if (this.standalone && !this.standalone.ended) {
      return reject(res, 409, JsonRpc.BAD_REQUEST, 'Conflict: Only one SSE stream is allowed per session');
    }
    const stream = new Exchange(res, this.sessionId, [], this.keepAliveMs, this.options.streams, () => {});
    stream.openSse();
    this.standalone = stream;
  }

  private terminate(req: IncomingMessage, res: ServerResponse): Promise<void> | void {
    if (!this.acceptsSessionHeaders(req, res)) return;
    res.writeHead(200).end();
    return this.close();
  }

  /** The session id and protocol version headers of a request after `initialize`. */
  private acceptsSessionHeaders(req: IncomingMessage, res: ServerResponse): boolean {
    if (!this.initialized) return (reject(res, 400, JsonRpc.BAD_REQUEST, 'Bad Request: Server not initialized'), false);
    const id = req.headers['mcp-session-id'];
    if (!id) return (reject(res, 400, JsonRpc.BAD_REQUEST, 'Bad Request: Mcp-Session-Id header is required'), false);
    if (id !== this.sessionId) return (reject(res, 404, JsonRpc.SESSION_NOT_FOUND, 'Session not found'), false);
    const version = req.headers['mcp-protocol-version'];
    if (typeof version === 'string' && !this.supportedVersions.includes(version)) {
      const supported = this.supportedVersions.join(', ');
      return (reject(res, 400, JsonRpc.BAD_REQUEST, `Bad Request: Unsupported protocol version: ${version} (supported versions: ${supported})`), false);
    }
    return true;
  }

  async send(message: JSONRPCMessage, options?: TransportSendOptions): Promise<void> {
    const isAnswer = isResponse(message);
    const requestId = isAnswer ? message.id : options?.relatedRequestId;
    if (requestId === undefined) {
      if (isAnswer) throw new Error('Cannot send a response on a standalone SSE stream unless resuming a previous client request');
      this.standalone?.write(message);
      return;
    }
    const exchange = this.exchanges.get(requestId);
    if (!exchange) {
      // A request (sampling, elicitation) fails at once; an answer or notification for a cancelled call has nowhere to go.
      if (isRequest(message)) throw new Error(`No connection established for request ID: ${String(requestId)}`);
      return;
    }
    if (!isAnswer) return exchange.write(message);
    this.exchanges.delete(requestId);
    exchange.answer(requestId, message);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const exchange of new Set(this.exchanges.values())) exchange.end();
    this.exchanges.clear();
    this.standalone?.end();
    this.onclose?.();
  }
}

function reject(res: ServerResponse, status: number, code: number, message: string): void {
  sendJson(res, status, rpcError(code, message));
}

/** `application/json` or `application/<anything>+json`, with or without parameters. */
export function isJsonContentType(value: string | undefined): boolean {
  return value !== undefined && /^application\/(?:[\w.+-]*\+)?json\s*(?:;|$)/i.test(value.trim());
}

/** The request ids that `notifications/cancelled` messages name. */
function cancelledIds(messages: JSONRPCMessage[]): RequestId[] {
  const ids: RequestId[] = [];
  for (const m of messages) {
    if (!('method' in m) || m.method !== 'notifications/cancelled') continue;
    const id = (m.params as { requestId?: unknown } | undefined)?.requestId;
    if (typeof id === 'string' || typeof id === 'number') ids.push(id);
  }
  return ids;
}

/**
 * The body's messages, checked with the SDK's own schema: what it accepts
 * here its server will handle (a lighter check let through messages the
 * server then silently ignored, such as ids beyond 2^53 or a malformed
 * `_meta`, and their callers waited for ever).
 */
function parseMessages(body: unknown): JSONRPCMessage[] | undefined {
  try {
    return Array.isArray(body) ? body.map((m) => parseJSONRPCMessage(m)) : [parseJSONRPCMessage(body)];
  } catch {
    return undefined;
  }
}
