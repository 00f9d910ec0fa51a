/**
 * The POST path of an established Streamable HTTP upstream connection, on
 * node:http. Every forwarded call is one such POST; through the SDK
 * transport it costs a fetch Response, a body stream, a TextDecoderStream,
 * an EventSourceParserStream and a zod parse per message, about a fifth of
 * the gateway's CPU per call (bench/profile.mjs http). Here the answer is
 * read as JSON or as SSE text directly.
 *
 * Everything else stays with the SDK transport, which this only overlays:
 * the handshake, the GET stream, DELETE, 2026-07-28 requests (their
 * per-request headers), and any answer that is not plainly success:
 * 401/403 (the SDK runs the OAuth flow and sends again; the upstream did
 * not run the request) and redirects go back through the SDK's own send. A
 * response stream that ends unanswered after the server gave event ids is
 * resumed by the SDK's own reconnection (GET with Last-Event-ID), with the
 * server's `retry` interval.
 *
 * It sends the headers the SDK would (the configured ones, the bearer token
 * from the same AuthProvider, the session id and protocol version), plus
 * the caller's identity headers. For a resumption it uses two members the
 * SDK does not publish (`SdkInternals`): its reconnection and its retry
 * interval. When they are missing (a future SDK), nothing is overlaid.
 */
import type { IncomingMessage } from 'node:http';
import {
  PROTOCOL_VERSION_META_KEY,
  SdkError,
  SdkErrorCode,
  SdkHttpError,
  type AuthProvider,
  type JSONRPCMessage,
  type StreamableHTTPClientTransport,
  type TransportSendOptions,
} from '@modelcontextprotocol/client';
import { isInitialize, isJsonRpcMessage, MAX_MESSAGE_CHARS } from '../core/json-rpc.js';
import { callerHeaders } from './identity.js';
import { nodeRequest, staleKeepAlive } from './node-fetch.js';

interface SdkInternals {
  _scheduleReconnection(options: ReconnectOptions, attempt: number): void;
  _serverRetryMs?: number;
}

interface ReconnectOptions {
  resumptionToken: string;
  onresumptiontoken?: (token: string) => void;
  replayMessageId?: undefined;
  requestSignal?: AbortSignal;
  onRequestStreamEnd?: () => void;
}

export interface LeanPostTarget {
  url: URL;
  /** The server's configured headers (`requestInit.headers` of the SDK transport). */
  headers: Record<string, string>;
  /** The AuthProvider the SDK transport was given: asked for the bearer token before each POST, as the SDK does. */
  auth?: AuthProvider;
  /** Headers naming the caller (`servers.<n>.identityHeaders`). */
  identityHeaders: Record<string, 'id' | 'groups' | 'scopes'>;
}

/** Sends this connection's POSTs over node:http where it can; see the file comment. */
export function postLean(transport: StreamableHTTPClientTransport, target: LeanPostTarget): void {
  const sdk = transport as unknown as SdkInternals;
  if (typeof sdk._scheduleReconnection !== 'function') return;
  const configured = lowerCased(target.headers);
  // What every POST accepts, worked out once per connection.
  configured.accept = acceptBoth(configured.accept);
  configured['content-type'] = 'application/json';
  const sdkSend = transport.send.bind(transport);
  const open = new Set<{ destroy(): void }>();
  let closed = false;

  transport.send = async (outgoing, options) => {
    const message = closed ? undefined : plainPost(outgoing, options);
    if (!message) return sdkSend(outgoing, options);
    const headers = { ...configured };
    const token = target.auth ? await target.auth.token() : undefined;
    if (token) headers.authorization = `Bearer ${token}`;
    if (transport.sessionId) headers['mcp-session-id'] = transport.sessionId;
    if (transport.protocolVersion) headers['mcp-protocol-version'] = transport.protocolVersion;
    // Last, as on the SDK's path (where identityFetch adds them to what the transport built).
    Object.assign(headers, callerHeaders(target.identityHeaders));
    const res = await post(target.url, headers, message, options?.requestSignal, open).catch((err: unknown) => {
      if (!options?.requestSignal?.aborted && !closed) transport.onerror?.(err as Error);
      throw err;
    });
    const status = res.statusCode ?? 0;
    // Not run by the upstream: the SDK's own path handles sign-in, step-up and redirects, and sends again.
    if (status === 401 || status === 403 || (status >= 300 && status < 400)) {
      res.resume();
      return sdkSend(message, options);
    }
    if (status < 200 || status >= 300) {
      const text = await readText(res).catch(() => '');
      throw report(transport, options, new SdkHttpError(SdkErrorCode.ClientHttpNotImplemented, `Error POSTing to endpoint: ${text}`, { status, statusText: res.statusMessage ?? '', text }));
    }
    if (status === 202 || !('method' in message && 'id' in message)) return void res.resume();
    const type = (res.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
    if (type === 'text/event-stream') return readEvents(res, transport, sdk, options, () => closed || options?.requestSignal?.aborted === true);
    if (type === 'application/json') {
      const text = await readText(res).catch((err: Error) => {
        throw report(transport, options, err);
      });
      return deliverJson(text, transport, options);
    }
    res.resume();
    throw report(transport, options, new SdkError(SdkErrorCode.ClientHttpUnexpectedContent, `Unexpected content type: ${res.headers['content-type']}`, { contentType: res.headers['content-type'] }));
  };

  const close = transport.close.bind(transport);
  transport.close = async () => {
    closed = true;
    for (const req of open) req.destroy();
    open.clear();
    return close();
  };
}

/** The message, when it is a single 2025-era one with nothing only the SDK's path knows how to send. */
function plainPost(message: JSONRPCMessage | JSONRPCMessage[], options: TransportSendOptions | undefined): JSONRPCMessage | undefined {
  if (Array.isArray(message) || options?.resumptionToken || options?.headers) return undefined;
  if (isInitialize(message)) return undefined;
  const meta = 'params' in message ? (message.params as { _meta?: Record<string, unknown> } | undefined)?._meta : undefined;
  return meta?.[PROTOCOL_VERSION_META_KEY] === undefined ? message : undefined;
}

function post(
  url: URL,
  headers: Record<string, string>,
  message: JSONRPCMessage,
  signal: AbortSignal | undefined,
  open: Set<{ destroy(): void }>,
  retried = false,
): Promise<IncomingMessage> {
  const body = JSON.stringify(message);
  headers['content-length'] = String(Buffer.byteLength(body));
  if (signal?.aborted) return Promise.reject(signal.reason);
  return new Promise((resolve, reject) => {
    let responded = false;
    const req = nodeRequest(url, { method: 'POST', headers }, (res) => {
      responded = true;
      // The response stream is what the request's lifetime now hangs on.
      open.delete(req);
      open.add(res);
      res.once('close', () => open.delete(res));
      resolve(res);
    });
    open.add(req);
    const onAbort = () => req.destroy(signal!.reason instanceof Error ? signal!.reason : new Error(String(signal!.reason)));
    signal?.addEventListener('abort', onAbort, { once: true });
    req.once('close', () => {
      open.delete(req);
      signal?.removeEventListener('abort', onAbort);
    });
    req.once('error', (err) => {
      // The server closed the kept-alive socket as we reused it: it never read the request, so send it once more.
      if (!retried && !signal?.aborted && staleKeepAlive(req, err, responded)) return resolve(post(url, headers, message, signal, open, true));
      // Shaped like a failed fetch, so isConnectionLost reads `cause.code` the same way.
      reject(signal?.aborted ? signal.reason : new TypeError('fetch failed', { cause: err }));
    });
    req.end(body);
  });
}

function lowerCased(headers: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(headers).map(([name, value]) => [name.toLowerCase(), value]));
}

function acceptBoth(configured: string | undefined): string {
  const types = [...(configured?.split(',').map((s) => s.trim().toLowerCase()) ?? []), 'application/json', 'text/event-stream'];
  return [...new Set(types.filter(Boolean))].join(', ');
}

function readText(res: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    res.setEncoding('utf8');
    res.on('data', (chunk: string) => {
      text += chunk;
      if (text.length <= MAX_MESSAGE_CHARS) return;
      res.destroy();
      reject(tooLarge());
    });
    res.once('end', () => resolve(text));
    res.once('error', reject);
  });
}

function tooLarge(): Error {
  return new Error(`The upstream sent a message larger than ${MAX_MESSAGE_CHARS} characters`);
}

function deliverJson(text: string, transport: StreamableHTTPClientTransport, options: TransportSendOptions | undefined): void {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    throw report(transport, options, err as Error);
  }
  const messages = Array.isArray(data) ? data : [data];
  if (!messages.every(isJsonRpcMessage)) throw report(transport, options, new Error(`Invalid JSON-RPC message from the upstream: ${text.slice(0, 200)}`));
  for (const message of messages) transport.onmessage?.(message);
}

/**
 * Reads a POST's SSE stream to its end, delivering each message. Like the
 * SDK: a stream that ends without the answer is resumed when the server gave
 * event ids, and otherwise reported through `onRequestStreamEnd`.
 */
function readEvents(res: IncomingMessage, transport: StreamableHTTPClientTransport, sdk: SdkInternals, options: TransportSendOptions | undefined, intentional: () => boolean): void {
  const parser = new SseParser();
  let lastEventId: string | undefined;
  let answered = false;
  const dispatch = (event: SseEvent) => {
    if (event.id !== undefined) {
      lastEventId = event.id;
      options?.onresumptiontoken?.(event.id);
    }
    if (event.retry !== undefined) sdk._serverRetryMs = event.retry;
    if (!event.data || (event.event && event.event !== 'message')) return;
    let message: unknown;
    try {
      message = JSON.parse(event.data);
    } catch (err) {
      return transport.onerror?.(err as Error);
    }
    if (!isJsonRpcMessage(message)) return transport.onerror?.(new Error(`Invalid JSON-RPC message from the upstream: ${event.data.slice(0, 200)}`));
    if (!('method' in message)) answered = true;
    transport.onmessage?.(message);
  };
  let oversized = false;
  const ended = (err?: Error) => {
    if (intentional()) return;
    if (err) transport.onerror?.(new Error(`SSE stream disconnected: ${err.message}`));
    if (answered) return;
    // An oversized event would come back just as large from a resumption.
    if (lastEventId === undefined || oversized) return options?.onRequestStreamEnd?.();
    sdk._scheduleReconnection(
      { resumptionToken: lastEventId, onresumptiontoken: options?.onresumptiontoken, requestSignal: options?.requestSignal, onRequestStreamEnd: options?.onRequestStreamEnd },
      0,
    );
  };
  res.setEncoding('utf8');
  res.on('data', (chunk: string) => {
    parser.feed(chunk, dispatch);
    if (parser.pending <= MAX_MESSAGE_CHARS) return;
    oversized = true;
    res.destroy(tooLarge());
  });
  let done = false;
  const finish = (err?: Error) => {
    if (done) return;
    done = true;
    ended(err);
  };
  res.once('end', () => finish());
  res.once('error', (err) => finish(err));
  res.once('close', () => finish(res.complete ? undefined : new Error('terminated')));
}

interface SseEvent {
  event?: string;
  data: string;
  id?: string;
  retry?: number;
}

/** The text/event-stream format (WHATWG HTML §9.2), line by line across chunks. */
class SseParser {
  private buffer = '';
  private first = true;
  /** Characters of the event being read (unfinished line and data lines so far): what an upstream could grow without bound. */
  get pending(): number {
    return this.buffer.length + this.dataChars;
  }
  private dataChars = 0;
  private data: string[] = [];
  private event?: string;
  private id?: string;
  private retry?: number;

  feed(chunk: string, dispatch: (event: SseEvent) => void): void {
    let text = this.buffer + chunk;
    // The stream may start with a byte order mark, which is not part of the first line.
    if (this.first) {
      if (text.length === 0) return;
      this.first = false;
      if (text.startsWith('\uFEFF')) text = text.slice(1);
    }
    // A CR at the very end may be the first half of CRLF: it waits for the next chunk.
    const held = text.endsWith('\r') ? '\r' : '';
    if (held) text = text.slice(0, -1);
    if (text.includes('\r')) text = text.replace(/\r\n?/g, '\n');
    let start = 0;
    for (let end = text.indexOf('\n'); end !== -1; end = text.indexOf('\n', start)) {
      this.line(text.slice(start, end), dispatch);
      start = end + 1;
    }
    this.buffer = text.slice(start) + held;
  }

  private line(line: string, dispatch: (event: SseEvent) => void): void {
    if (line === '') {
      if (this.data.length > 0 || this.id !== undefined || this.retry !== undefined) {
        dispatch({ event: this.event, data: this.data.join('\n'), id: this.id, retry: this.retry });
      }
      this.data = [];
      this.dataChars = 0;
      this.event = undefined;
      this.id = undefined;
      this.retry = undefined;
      return;
    }
    if (line.startsWith(':')) return;
    const colon = line.indexOf(':');
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'data') {
      this.data.push(value);
      this.dataChars += value.length;
    }
    else if (field === 'event') this.event = value;
    else if (field === 'id' && !value.includes('\0')) this.id = value;
    else if (field === 'retry' && /^\d+$/.test(value)) this.retry = Number(value);
  }
}

function report(transport: StreamableHTTPClientTransport, options: TransportSendOptions | undefined, err: Error): Error {
  if (!options?.requestSignal?.aborted) transport.onerror?.(err);
  return err;
}
