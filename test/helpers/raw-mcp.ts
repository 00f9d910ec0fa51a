/**
 * A lean 2025-era Streamable HTTP client for stress tests: plain node:http
 * with keep-alive, the handshake done by hand, JSON or SSE bodies, and every
 * response matched to its request by id. Also the raw request primitive the
 * fuzzer uses (any method, headers and bytes; a hard per-request timeout).
 * The SDK client costs ~1-2 ms of CPU per call, too much for 20,000 calls on
 * two cores next to the gateway.
 */
import http, { type IncomingHttpHeaders, type OutgoingHttpHeaders } from 'node:http';

export const PROTOCOL_VERSION = '2025-11-25';
export const ACCEPT = 'application/json, text/event-stream';

export interface RawResponse {
  status: number;
  headers: IncomingHttpHeaders;
  text: string;
  /** The request was a GET that opened an SSE stream; it was cut once the headers arrived. */
  streamOpened: boolean;
}

export interface RawRequestOptions {
  method?: string;
  headers?: OutgoingHttpHeaders;
  body?: string | Buffer;
  agent?: http.Agent;
  /** Rejects with a `RawTimeoutError` when no complete answer came within this time. */
  timeoutMs?: number;
}

export class RawTimeoutError extends Error {
  constructor(ms: number) {
    super(`no complete answer within ${ms} ms`);
    this.name = 'RawTimeoutError';
  }
}

/** One HTTP exchange; resolves with the whole body (or the headers of a GET event stream). */
export function rawRequest(url: URL, options: RawRequestOptions = {}): Promise<RawResponse> {
  const { method = 'POST', headers = {}, body, agent, timeoutMs = 10_000 } = options;
  return new Promise((resolve, reject) => {
    let settled = false;
    const done = (err: Error | undefined, value?: RawResponse) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (err) reject(err);
      else resolve(value!);
    };
    const req = http.request({ agent, host: url.hostname, port: url.port, path: `${url.pathname}${url.search}`, method, headers }, (res) => {
      const contentType = String(res.headers['content-type'] ?? '');
      if (method === 'GET' && res.statusCode === 200 && contentType.includes('text/event-stream')) {
        // A standalone SSE stream never ends by itself: seeing it open is the answer.
        done(undefined, { status: 200, headers: res.headers, text: '', streamOpened: true });
        req.destroy();
        return;
      }
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () =>
        done(undefined, { status: res.statusCode ?? 0, headers: res.headers, text: Buffer.concat(chunks).toString('utf8'), streamOpened: false }),
      );
      res.on('error', (err) => done(err));
      res.on('aborted', () => done(new Error('response aborted')));
    });
    const timer = setTimeout(() => {
      done(new RawTimeoutError(timeoutMs));
      req.destroy();
    }, timeoutMs);
    req.on('error', (err) => done(err));
    req.end(body);
  });
}

/** A JSON-RPC message as it appears on the wire. */
export interface WireMessage {
  jsonrpc?: unknown;
  id?: unknown;
  method?: unknown;
  params?: unknown;
  result?: unknown;
  error?: unknown;
}

/** Every `data:` payload of an SSE body, parsed (throws on a payload that is not JSON). */
export function sseMessages(text: string): unknown[] {
  const out: unknown[] = [];
  for (const event of text.replace(/\r\n?/g, '\n').split('\n\n')) {
    const data = event
      .split('\n')
      .filter((l) => l.startsWith('data:'))
      .map((l) => l.slice(l.charCodeAt(5) === 32 ? 6 : 5))
      .join('\n');
    if (data) out.push(JSON.parse(data));
  }
  return out;
}

/** The messages of a response body, JSON or SSE (throws when the body cannot be parsed). */
export function bodyMessages(res: Pick<RawResponse, 'headers' | 'text'>): unknown[] {
  const type = String(res.headers['content-type'] ?? '');
  if (type.includes('text/event-stream')) return sseMessages(res.text);
  const parsed: unknown = JSON.parse(res.text);
  return Array.isArray(parsed) ? parsed : [parsed];
}

/** Why `value` is not a JSON-RPC error response (undefined when it is one). */
export function notAJsonRpcError(value: unknown): string | undefined {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return 'not an object';
  const m = value as WireMessage;
  if (m.jsonrpc !== '2.0') return 'jsonrpc is not "2.0"';
  if (!('id' in m)) return 'no id';
  if (m.id !== null && typeof m.id !== 'string' && typeof m.id !== 'number') return 'id is not string | number | null';
  if ('result' in m) return 'has a result';
  const e = m.error as { code?: unknown; message?: unknown } | undefined;
  if (e === null || typeof e !== 'object') return 'no error object';
  if (typeof e.code !== 'number' || !Number.isInteger(e.code)) return 'error.code is not an integer';
  if (typeof e.message !== 'string') return 'error.message is not a string';
  return undefined;
}

/** Why `value` is not a JSON-RPC response (result or error) or notification. */
export function notAJsonRpcMessage(value: unknown): string | undefined {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return 'not an object';
  const m = value as WireMessage;
  if (m.jsonrpc !== '2.0') return 'jsonrpc is not "2.0"';
  if (typeof m.method === 'string') return undefined; // a notification or request from the server
  if ('result' in m) {
    if (m.result === null || typeof m.result !== 'object') return 'result is not an object';
    if (typeof m.id !== 'string' && typeof m.id !== 'number') return 'result without a string or number id';
    return undefined;
  }
  return notAJsonRpcError(value);
}

export class RpcError extends Error {
  constructor(
    readonly status: number,
    readonly error: { code: number; message: string; data?: Record<string, unknown> } | undefined,
    message: string,
  ) {
    super(message);
    this.name = 'RpcError';
  }
}

/** One 2025-era session over keep-alive node:http (one socket, one request at a time unless `maxSockets` says otherwise). */
export class RawSession {
  readonly url: URL;
  readonly agent: http.Agent;
  sessionId?: string;
  private nextId = 1;
  private readonly timeoutMs: number;

  constructor(mcpUrl: string, options: { maxSockets?: number; timeoutMs?: number } = {}) {
    this.url = new URL(mcpUrl);
    this.agent = new http.Agent({ keepAlive: true, maxSockets: options.maxSockets ?? 1 });
    this.timeoutMs = options.timeoutMs ?? 30_000;
  }

  get headers(): Record<string, string> {
    const h: Record<string, string> = { accept: ACCEPT, 'content-type': 'application/json', 'mcp-protocol-version': PROTOCOL_VERSION };
    if (this.sessionId) h['mcp-session-id'] = this.sessionId;
    return h;
  }

  /** initialize → Mcp-Session-Id → notifications/initialized. */
  async initialize(capabilities: Record<string, unknown> = {}): Promise<Record<string, unknown>> {
    const id = this.nextId++;
    const body = JSON.stringify({
      jsonrpc: '2.0',
      id,
      method: 'initialize',
      params: { protocolVersion: PROTOCOL_VERSION, capabilities, clientInfo: { name: 'stress', version: '1' } },
    });
    const res = await rawRequest(this.url, {
      headers: { accept: ACCEPT, 'content-type': 'application/json' },
      body,
      agent: this.agent,
      timeoutMs: this.timeoutMs,
    });
    if (res.status !== 200) throw new Error(`initialize: HTTP ${res.status} ${res.text.slice(0, 300)}`);
    const sid = res.headers['mcp-session-id'];
    if (typeof sid !== 'string') throw new Error('initialize: no mcp-session-id');
    this.sessionId = sid;
    const msg = matching(bodyMessages(res), id);
    if (!msg || !('result' in msg)) throw new Error(`initialize: ${res.text.slice(0, 300)}`);
    const ack = await rawRequest(this.url, {
      headers: this.headers,
      body: '{"jsonrpc":"2.0","method":"notifications/initialized"}',
      agent: this.agent,
      timeoutMs: this.timeoutMs,
    });
    if (ack.status !== 202) throw new Error(`notifications/initialized: HTTP ${ack.status}`);
    return msg.result as Record<string, unknown>;
  }

  /**
   * One request. Resolves with the result; rejects with an `RpcError` for a
   * JSON-RPC error (or an HTTP error status), with an Error when the answer
   * is missing, malformed or answers another id.
   */
  async request(method: string, params?: unknown): Promise<{ result: Record<string, unknown>; notifications: WireMessage[] }> {
    const id = this.nextId++;
    const body = JSON.stringify({ jsonrpc: '2.0', id, method, ...(params === undefined ? {} : { params }) });
    const res = await rawRequest(this.url, { headers: this.headers, body, agent: this.agent, timeoutMs: this.timeoutMs });
    let messages: WireMessage[];
    try {
      messages = bodyMessages(res) as WireMessage[];
    } catch {
      throw new Error(`${method}: HTTP ${res.status}, unparsable body: ${res.text.slice(0, 300)}`);
    }
    if (res.status !== 200) {
      const e = messages[0]?.error as RpcError['error'];
      throw new RpcError(res.status, e, `${method}: HTTP ${res.status} ${res.text.slice(0, 300)}`);
    }
    const responses = messages.filter((m) => m.method === undefined);
    if (responses.length !== 1) throw new Error(`${method}: expected exactly one response, got ${responses.length}: ${res.text.slice(0, 300)}`);
    const msg = responses[0]!;
    if (msg.id !== id) throw new Error(`${method}: response id ${JSON.stringify(msg.id)} does not match request id ${id}`);
    if (msg.error !== undefined) {
      const e = msg.error as RpcError['error'];
      throw new RpcError(res.status, e, `${method}: ${JSON.stringify(e)}`);
    }
    return { result: msg.result as Record<string, unknown>, notifications: messages.filter((m) => m.method !== undefined) };
  }

  /** `tools/call`; resolves the result. */
  async call(name: string, args: Record<string, unknown> = {}): Promise<Record<string, unknown>> {
    return (await this.request('tools/call', { name, arguments: args })).result;
  }

  /** DELETE the session (best effort) and drop the sockets. */
  async close(): Promise<number | undefined> {
    let status: number | undefined;
    if (this.sessionId) {
      status = await rawRequest(this.url, {
        method: 'DELETE',
        headers: { 'mcp-session-id': this.sessionId, 'mcp-protocol-version': PROTOCOL_VERSION },
        agent: this.agent,
        timeoutMs: 5_000,
      }).then(
        (r) => r.status,
        () => undefined,
      );
      this.sessionId = undefined;
    }
    this.agent.destroy();
    return status;
  }
}

function matching(messages: unknown[], id: number): WireMessage | undefined {
  return (messages as WireMessage[]).find((m) => m && m.id === id && m.method === undefined);
}

/** The text of a tool result's first text block. */
export function textOf(result: Record<string, unknown>): string | undefined {
  const content = result.content as { type?: string; text?: string }[] | undefined;
  return content?.find((c) => c.type === 'text')?.text;
}
