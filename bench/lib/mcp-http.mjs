// A lean Streamable HTTP client for load generation: plain node:http, one
// keep-alive Agent per session, JSON or SSE response bodies, and every
// response's id checked against its request. A 2025-era session does the
// handshake by hand; a 2026-07-28 one (`modern`) has none: each request
// carries its envelope in `_meta` and the standard Mcp-Method/Mcp-Name headers.
// (The SDK client costs ~1.5–2 ms CPU per call: see /work/shared/perf-notes.md.)
import http from 'node:http';

export const PROTOCOL_VERSION = '2025-11-25';
export const MODERN_VERSION = '2026-07-28';
const REQUEST_TIMEOUT_MS = 15_000;

/** One response body (JSON or SSE) → the JSON-RPC message answering `id`. */
export function parseBody(contentType, text, id) {
  if (contentType?.includes('text/event-stream')) {
    // Each event's `data:` lines carry one message; other fields (event, id, retry) and comments are skipped.
    if (text.includes('\r')) text = text.replace(/\r\n?/g, '\n');
    let from = 0;
    while (from < text.length) {
      let end = text.indexOf('\n\n', from);
      if (end < 0) end = text.length;
      let data = '';
      let line = from;
      while (line < end) {
        let nl = text.indexOf('\n', line);
        if (nl < 0 || nl > end) nl = end;
        if (text.startsWith('data:', line)) {
          const value = text.slice(line + (text.charCodeAt(line + 5) === 32 ? 6 : 5), nl);
          data = data ? `${data}\n${value}` : value;
        }
        line = nl + 1;
      }
      if (data) {
        const msg = JSON.parse(data);
        if (msg.id === id) return msg;
      }
      from = end + 2;
    }
    throw new Error(`no SSE message answered id ${id}`);
  }
  const msg = JSON.parse(text);
  if (msg.id !== id) throw new Error(`response id ${JSON.stringify(msg.id)} does not match request id ${id}`);
  return msg;
}

/** POSTs (or DELETEs) one body; resolves { status, headers, text }. */
function send(agent, url, method, headers, body) {
  return new Promise((resolve, reject) => {
    const req = http.request({ agent, host: url.hostname, port: url.port, path: url.pathname, method, headers, timeout: REQUEST_TIMEOUT_MS }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () =>
        resolve({ status: res.statusCode, headers: res.headers, text: chunks.length === 1 ? chunks[0].toString() : Buffer.concat(chunks).toString() }),
      );
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`${method} ${url.href} timed out after ${REQUEST_TIMEOUT_MS} ms`)));
    req.on('error', reject);
    req.end(body);
  });
}

export class HttpSession {
  /**
   * @param {string} url
   * @param {{ agent?: http.Agent, label?: string, modern?: boolean, headers?: Record<string, string> }} [options]
   *   `headers` go with every request (an Authorization header, say).
   */
  constructor(url, options = {}) {
    this.url = new URL(url);
    this.agent = options.agent ?? new http.Agent({ keepAlive: true, maxSockets: 1 });
    this.ownAgent = !options.agent;
    this.modern = options.modern === true;
    this.sessionId = undefined;
    this.nextId = 1;
    this.baseHeaders = {
      accept: 'application/json, text/event-stream',
      'content-type': 'application/json',
      'mcp-protocol-version': this.modern ? MODERN_VERSION : PROTOCOL_VERSION,
      ...options.headers,
    };
    /** Per distinct params text, a 2026-07-28 request's params (with the envelope) and headers, built once. */
    this.modernRequests = new Map();
  }

  /** initialize → mcp-session-id → notifications/initialized (202). Returns the initialize result. */
  async initialize(clientName = 'switchboard-bench') {
    if (this.modern) {
      this.clientName = clientName;
      return {};
    }
    const id = this.nextId++;
    const body = JSON.stringify({
      jsonrpc: '2.0',
      id,
      method: 'initialize',
      params: { protocolVersion: PROTOCOL_VERSION, capabilities: {}, clientInfo: { name: clientName, version: '1.0.0' } },
    });
    const headers = { ...this.baseHeaders, 'content-length': Buffer.byteLength(body) };
    delete headers['mcp-protocol-version'];
    const res = await send(this.agent, this.url, 'POST', headers, body);
    if (res.status !== 200) throw new Error(`initialize: HTTP ${res.status} ${res.text.slice(0, 200)}`);
    const msg = parseBody(res.headers['content-type'], res.text, id);
    if (msg.error) throw new Error(`initialize: ${JSON.stringify(msg.error)}`);
    const sid = res.headers['mcp-session-id'];
    if (!sid) throw new Error('initialize: no mcp-session-id header');
    this.sessionId = Array.isArray(sid) ? sid[0] : sid;
    this.baseHeaders['mcp-session-id'] = this.sessionId;
    // Reused for every request (http.request copies headers synchronously), so the hot loop allocates no header object.
    this.callHeaders = { ...this.baseHeaders, 'content-length': 0 };
    const note = '{"jsonrpc":"2.0","method":"notifications/initialized"}';
    const ack = await send(this.agent, this.url, 'POST', { ...this.baseHeaders, 'content-length': note.length }, note);
    if (ack.status !== 202 && ack.status !== 200) throw new Error(`notifications/initialized: HTTP ${ack.status} ${ack.text.slice(0, 200)}`);
    return msg.result;
  }

  /** One request; `paramsJson` is pre-serialised so the hot loop does not stringify. Resolves the JSON-RPC message. */
  async request(method, paramsJson) {
    if (this.modern) return this.modernRequest(method, paramsJson);
    const id = this.nextId++;
    const body = `{"jsonrpc":"2.0","id":${id},"method":"${method}","params":${paramsJson}}`;
    this.callHeaders['content-length'] = Buffer.byteLength(body);
    const res = await send(this.agent, this.url, 'POST', this.callHeaders, body);
    if (res.status !== 200) throw new Error(`${method}: HTTP ${res.status} ${res.text.slice(0, 200)}`);
    return parseBody(res.headers['content-type'], res.text, id);
  }

  /** One 2026-07-28 request: no session, the envelope in `_meta`, Mcp-Method and Mcp-Name headers. */
  async modernRequest(method, paramsJson) {
    const key = `${method} ${paramsJson}`;
    let prepared = this.modernRequests.get(key);
    if (!prepared) {
      const params = JSON.parse(paramsJson);
      params._meta = {
        'io.modelcontextprotocol/protocolVersion': MODERN_VERSION,
        'io.modelcontextprotocol/clientInfo': { name: this.clientName ?? 'switchboard-bench', version: '1.0.0' },
        'io.modelcontextprotocol/clientCapabilities': {},
      };
      const name = typeof params.name === 'string' ? params.name : typeof params.uri === 'string' ? params.uri : undefined;
      const headers = { ...this.baseHeaders, 'mcp-method': method, ...(name === undefined ? {} : { 'mcp-name': name }), 'content-length': 0 };
      prepared = { paramsJson: JSON.stringify(params), headers };
      this.modernRequests.set(key, prepared);
    }
    const id = this.nextId++;
    const body = `{"jsonrpc":"2.0","id":${id},"method":"${method}","params":${prepared.paramsJson}}`;
    prepared.headers['content-length'] = Buffer.byteLength(body);
    const res = await send(this.agent, this.url, 'POST', prepared.headers, body);
    if (res.status !== 200) throw new Error(`${method}: HTTP ${res.status} ${res.text.slice(0, 200)}`);
    return parseBody(res.headers['content-type'], res.text, id);
  }

  /** DELETE the session (best effort), then drop the sockets. */
  async close() {
    if (this.sessionId) {
      await send(this.agent, this.url, 'DELETE', { 'mcp-session-id': this.sessionId, 'mcp-protocol-version': PROTOCOL_VERSION }, undefined).catch(() => {});
      this.sessionId = undefined;
    }
    if (this.ownAgent) this.agent.destroy();
  }
}
