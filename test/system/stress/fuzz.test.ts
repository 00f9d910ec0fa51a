/**
 * Fuzzing the downstream HTTP endpoint (issue 7): at least 10,000 generated
 * malformed or hostile messages - bad JSON, wrong types, huge ids, deep
 * nesting, wrong headers, oversized bodies, unknown sessions, requests after
 * DELETE, odd HTTP methods, hostile params in live sessions - sent with
 * bounded concurrency. For every answer: no hang, no 5xx, and any body is
 * JSON-RPC (an error for a 4xx; a response that answers the request's own id
 * for a 2xx). Meanwhile a normal SDK client on its own session keeps calling
 * a tool, and every one of its calls must succeed. The messages come from a
 * seeded PRNG (STRESS_SEED, default 7): a failing case can be replayed.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { connectLegacy, eventually } from '../../helpers/gateway.js';
import { cliEnv, freePort, spawnCli, waitForExit, type RunningCli } from '../../helpers/processes.js';
import {
  ACCEPT,
  bodyMessages,
  notAJsonRpcError,
  notAJsonRpcMessage,
  PROTOCOL_VERSION,
  rawRequest,
  RawSession,
  type RawResponse,
  type WireMessage,
} from '../../helpers/raw-mcp.js';
import { endSession, fmtMs, latencyStats, prng, sleep, STDIO_FIXTURE } from '../../helpers/stress.js';

const SEED = Number(process.env.STRESS_SEED ?? 7);
const MESSAGES = 10_000;
const CONCURRENCY = 16;
const PER_REQUEST_TIMEOUT_MS = 10_000;
const MAX_BODY = 64 * 1024;
const LIVE_SESSIONS = 8;
const DELETED_SESSIONS = 16;

/** One generated HTTP exchange. */
interface Case {
  category: string;
  what: string;
  method: string;
  path?: string;
  headers: Record<string, string | string[]>;
  body?: string | Buffer;
  /** The JSON-RPC id a 2xx answer must carry (undefined: not a single request with a usable id). */
  expectId?: string | number;
  /** Whether the body is one JSON-RPC notification or response (a 202 with no body is then right). */
  noAnswerNeeded?: boolean;
  /**
   * Send it on the worker's own session (the placeholder session id is replaced): ids that repeat
   * (huge-ids) must not be in flight twice on one session, which is a different test (see below).
   */
  ownSession?: boolean;
}

interface Violation {
  index: number;
  category: string;
  what: string;
  status?: number;
  reason: string;
  body?: string;
}

/** A v4-shaped UUID from the PRNG (deterministic, unlike crypto.randomUUID). */
function uuidFrom(rng: () => number): string {
  const hex = Array.from({ length: 32 }, () => Math.floor(rng() * 16).toString(16)).join('');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-a${hex.slice(17, 20)}-${hex.slice(20)}`;
}

const pick = <T>(rng: () => number, items: readonly T[]): T => items[Math.floor(rng() * items.length)]!;
const int = (rng: () => number, lo: number, hi: number) => lo + Math.floor(rng() * (hi - lo + 1));

/** Tools that answer quickly whatever they are sent (no exit, no hang, nothing that outlives its call). */
const TOOL_NAMES = [
  'ks__echo',
  'ks__add',
  'ks__fail',
  'ks__throw_error',
  'ks__meta',
  'ks__log',
  'ks__headers',
  'ks__sample',
  'ks__elicit',
  'ks__roots',
  'ks__touch',
  'ks__slow',
  'ks__progress',
  'ks__nope',
  'nope__echo',
  'ks__',
  '__',
  '',
  'ks__echo\u0000',
  'ks__ünïcödé',
  'x'.repeat(5_000),
  'ks__tool_0',
  'ks____echo',
  ' ks__echo',
  'KS__ECHO',
];
const SAFE_ARGS: unknown[] = [
  {},
  { text: 'hi' },
  { text: 42 },
  { text: null },
  { text: ['a'] },
  { a: 1, b: 2 },
  { a: '1', b: {} },
  { ms: 50 },
  { ms: -1 },
  { ms: 'soon' },
  { steps: 3 },
  { steps: 5_000 },
  { level: 'info', message: 'm' },
  { level: 'nope', message: 1 },
  { prompt: 'p' },
  { message: 'm' },
  { uri: 'fixture://static/hello' },
  { code: 1 },
  'a string',
  42,
  null,
  [],
  [1, 2],
  { text: 'x'.repeat(4_000) },
  { ['__proto__']: { polluted: true }, text: 'proto' },
  { constructor: { prototype: { x: 1 } } },
];
const URIS = [
  '',
  'ks+',
  'ks+fixture://static/hello',
  `ks+fixture://items/${'z'.repeat(3_000)}`,
  'file:///etc/passwd',
  '../../etc/passwd',
  'ks+fixture://items/%00',
  'nope+x://y',
  'javascript:alert(1)',
  '\u0000',
  'ks+fixture://static/blob',
];
const METHODS = [
  'tools/call',
  'tools/list',
  'prompts/list',
  'prompts/get',
  'resources/list',
  'resources/read',
  'resources/templates/list',
  'resources/subscribe',
  'resources/unsubscribe',
  'completion/complete',
  'logging/setLevel',
  'ping',
  'initialize',
  'no/such/method',
  '',
  'rpc.discover',
  '$/cancelRequest',
  'notifications/initialized',
  'notifications/cancelled',
  'notifications/progress',
  'sampling/createMessage',
  'server/discover',
  'subscriptions/listen',
  'TOOLS/CALL',
  'tools/call ',
  '__proto__',
  'constructor',
  'toString',
];
const HUGE_IDS: unknown[] = [
  1e308,
  -1e308,
  2 ** 53 + 1,
  Number.MAX_SAFE_INTEGER,
  -Number.MAX_SAFE_INTEGER,
  0,
  -0,
  1.5,
  1e-300,
  'x'.repeat(10_000),
  '',
  '\u0000',
  '🙂',
  'null',
];
const WEIRD_IDS: unknown[] = [{}, [], true, false, { a: 1 }, [1], NaN, 'id with spaces'];

/** Builds the params of a plausible request to `method`, with hostile values mixed in. */
function paramsFor(rng: () => number, method: string): unknown {
  switch (method) {
    case 'tools/call':
      return {
        name: pick(rng, TOOL_NAMES),
        arguments: pick(rng, SAFE_ARGS),
        ...(rng() < 0.2 ? { _meta: { progressToken: pick(rng, ['t', 1, 1e308, {}, null]) } } : {}),
      };
    case 'resources/read':
    case 'resources/subscribe':
    case 'resources/unsubscribe':
      return { uri: pick(rng, [...URIS, 42, null, {}]) };
    case 'prompts/get':
      return { name: pick(rng, ['ks__greet', 'greet', 'ks__nope', '', 42]), arguments: pick(rng, [{ name: 'bob' }, { name: 42 }, 'x', null, {}]) };
    case 'completion/complete':
      return pick(rng, [
        { ref: { type: 'ref/prompt', name: 'ks__greet' }, argument: { name: 'name', value: 'a' } },
        { ref: { type: 'ref/prompt', name: 'nope' }, argument: { name: 'name', value: 'a' } },
        { ref: { type: 'ref/resource', uri: 'ks+fixture://items/{id}' }, argument: { name: 'id', value: '' } },
        { ref: { type: 'ref/bogus' }, argument: {} },
        { ref: 'x' },
        {},
      ]);
    case 'logging/setLevel':
      return { level: pick(rng, ['debug', 'emergency', 'verbose', 42, null]) };
    case 'tools/list':
    case 'prompts/list':
    case 'resources/list':
      return pick(rng, [{}, { cursor: 'garbage' }, { cursor: 42 }, { cursor: '' }, { cursor: 'x'.repeat(2_000) }, undefined]);
    case 'initialize':
      return pick(rng, [
        { protocolVersion: PROTOCOL_VERSION, capabilities: {}, clientInfo: { name: 'fuzz', version: '1' } },
        { protocolVersion: '1999-01-01', capabilities: {}, clientInfo: { name: 'fuzz', version: '1' } },
        { protocolVersion: 42 },
        { capabilities: 'all' },
        {},
      ]);
    case 'notifications/cancelled':
      return { requestId: pick(rng, [1, 'x', null, 1e308]), reason: 'fuzz' };
    case 'notifications/progress':
      return { progressToken: pick(rng, ['t', 1]), progress: pick(rng, [1, -1, 'x']) };
    default:
      return pick(rng, [{}, undefined, { x: 1 }, [], 'str', 42, null]);
  }
}

function deep(kind: 'array' | 'object', depth: number, leaf = '"leaf"'): string {
  return kind === 'array' ? '['.repeat(depth) + leaf + ']'.repeat(depth) : '{"a":'.repeat(depth) + leaf + '}'.repeat(depth);
}

/** Request text with `id` spliced in verbatim (so 2**53+1 or 1e308 travel exactly as written). */
function requestText(id: string, method: string, params: unknown): string {
  return `{"jsonrpc":"2.0","id":${id},"method":${JSON.stringify(method)}${params === undefined ? '' : `,"params":${JSON.stringify(params)}`}}`;
}

/**
 * The fuzzer's state: live sessions (never deleted by the fuzz), ids of
 * sessions already DELETEd, and sessions the fuzz itself opened (closed at the end).
 */
interface Pools {
  live: string[];
  deleted: string[];
  opened: Set<string>;
  nextId: number;
}

const OWN_SESSION = '<worker session>';

function liveHeaders(sessionId: string, extra: Record<string, string | string[]> = {}): Record<string, string | string[]> {
  return { 'content-type': 'application/json', accept: ACCEPT, 'mcp-session-id': sessionId, 'mcp-protocol-version': PROTOCOL_VERSION, ...extra };
}

/** Generates case number `index` (deterministic for a seed). */
function generate(rng: () => number, pools: Pools): Case {
  const live = pick(rng, pools.live);
  const id = pools.nextId++;
  const roll = rng();
  if (roll < 0.1) {
    // Bad JSON.
    const valid = requestText(String(id), 'tools/call', { name: 'ks__echo', arguments: { text: 'x' } });
    const bodies: [string, string | Buffer][] = [
      ['truncated', valid.slice(0, int(rng, 1, valid.length - 1))],
      ['garbage text', Array.from({ length: int(rng, 1, 200) }, () => String.fromCharCode(int(rng, 32, 126))).join('')],
      ['random bytes', Buffer.from(Array.from({ length: int(rng, 1, 300) }, () => int(rng, 0, 255)))],
      ['empty', ''],
      ['open brace', '{'],
      ['trailing comma', '{"jsonrpc":"2.0","id":1,"method":"ping",}'],
      ['two objects', '{"jsonrpc":"2.0","id":1,"method":"ping"}{"jsonrpc":"2.0","id":2,"method":"ping"}'],
      ['NaN', 'NaN'],
      ['BOM', `\uFEFF${valid}`],
      ['single quotes', "{'jsonrpc':'2.0','id':1,'method':'ping'}"],
      ['lone surrogate', `{"jsonrpc":"2.0","id":1,"method":"ping","params":{"x":"\\ud800"}}`],
      ['invalid utf-8 in string', Buffer.concat([Buffer.from('{"jsonrpc":"2.0","id":1,"method":"'), Buffer.from([0xc3, 0x28, 0xff]), Buffer.from('"}')])],
    ];
    const [what, body] = pick(rng, bodies);
    const session: Record<string, string> = rng() < 0.5 ? { 'mcp-session-id': live, 'mcp-protocol-version': PROTOCOL_VERSION } : {};
    return { category: 'bad-json', what, method: 'POST', headers: { 'content-type': 'application/json', accept: ACCEPT, ...session }, body };
  }
  if (roll < 0.22) {
    // Wrong types in the envelope.
    const msg: Record<string, unknown> = { jsonrpc: '2.0', id, method: 'tools/call', params: { name: 'ks__echo', arguments: { text: 'typed' } } };
    const field = pick(rng, ['jsonrpc', 'id', 'method', 'params', 'all'] as const);
    const wrong = () => pick(rng, [1, '1.0', null, true, [], {}, 'x', 1.5, -1]);
    if (field === 'all') for (const k of ['jsonrpc', 'id', 'method', 'params']) msg[k] = wrong();
    else if (field === 'jsonrpc' && rng() < 0.3) delete msg.jsonrpc;
    else if (field === 'id') msg.id = pick(rng, WEIRD_IDS);
    else msg[field] = wrong();
    const shape = rng();
    const body =
      shape < 0.1
        ? JSON.stringify([msg, msg])
        : shape < 0.15
          ? '[]'
          : shape < 0.2
            ? JSON.stringify(pick(rng, [42, 'str', null, true, [1, 2]]))
            : JSON.stringify(msg);
    const headers = rng() < 0.8 ? liveHeaders(live) : { 'content-type': 'application/json', accept: ACCEPT };
    return {
      category: 'wrong-types',
      what: `${field}=${JSON.stringify(msg[field as string] ?? null)?.slice(0, 40)} (${shape < 0.2 ? 'odd shape' : 'object'})`,
      method: 'POST',
      headers,
      body,
    };
  }
  if (roll < 0.3) {
    // Huge and odd (but valid) ids on a real call.
    const hugeId = pick(rng, HUGE_IDS);
    const idText = typeof hugeId === 'number' && hugeId === 2 ** 53 + 1 ? '9007199254740993' : JSON.stringify(hugeId);
    const body = requestText(idText, 'tools/call', { name: 'ks__echo', arguments: { text: 'id' } });
    const parsedId = JSON.parse(idText) as string | number;
    return {
      category: 'huge-ids',
      what: `id ${idText.slice(0, 30)}`,
      method: 'POST',
      headers: liveHeaders(OWN_SESSION),
      body,
      expectId: parsedId,
      ownSession: true,
    };
  }
  if (roll < 0.37) {
    // Deep nesting (kept under maxBodyBytes, so it reaches the parsers and the pipeline).
    const depth = pick(rng, [100, 1_000, 5_000, 10_000, 12_000]);
    const kind = rng() < 0.5 ? 'array' : 'object';
    const where = pick(rng, ['arguments', 'meta', 'params', 'id', 'resource'] as const);
    const nested = deep(kind, depth);
    const body =
      where === 'arguments'
        ? `{"jsonrpc":"2.0","id":${id},"method":"tools/call","params":{"name":"ks__echo","arguments":{"text":"deep","x":${nested}}}}`
        : where === 'meta'
          ? `{"jsonrpc":"2.0","id":${id},"method":"tools/call","params":{"name":"ks__echo","arguments":{"text":"deep"},"_meta":{"x":${nested}}}}`
          : where === 'params'
            ? `{"jsonrpc":"2.0","id":${id},"method":"tools/list","params":${kind === 'object' ? nested : `{"x":${nested}}`}}`
            : where === 'resource'
              ? `{"jsonrpc":"2.0","id":${id},"method":"resources/read","params":{"uri":"ks+fixture://static/hello","x":${nested}}}`
              : `{"jsonrpc":"2.0","id":${nested},"method":"ping"}`;
    const headers = rng() < 0.85 ? liveHeaders(live) : { 'content-type': 'application/json', accept: ACCEPT };
    return { category: 'deep-nesting', what: `${kind} depth ${depth} in ${where}`, method: 'POST', headers, body, expectId: where === 'id' ? undefined : id };
  }
  if (roll < 0.47) {
    // Wrong headers around an otherwise good request.
    const good = requestText(String(id), 'tools/call', { name: 'ks__echo', arguments: { text: 'headers' } });
    const variants: [string, Record<string, string | string[]>][] = [
      ['no content-type', { accept: ACCEPT, 'mcp-session-id': live, 'mcp-protocol-version': PROTOCOL_VERSION }],
      ['text/plain', liveHeaders(live, { 'content-type': 'text/plain' })],
      ['form content-type', liveHeaders(live, { 'content-type': 'application/x-www-form-urlencoded' })],
      ['json charset latin1', liveHeaders(live, { 'content-type': 'application/json; charset=latin1' })],
      ['json charset utf-16', liveHeaders(live, { 'content-type': 'application/json; charset=utf-16' })],
      ['no accept', { 'content-type': 'application/json', 'mcp-session-id': live, 'mcp-protocol-version': PROTOCOL_VERSION }],
      ['accept text/html', liveHeaders(live, { accept: 'text/html' })],
      ['accept json only', liveHeaders(live, { accept: 'application/json' })],
      ['bad protocol version', liveHeaders(live, { 'mcp-protocol-version': '1999-01-01' })],
      ['garbage protocol version', liveHeaders(live, { 'mcp-protocol-version': 'x'.repeat(300) })],
      ['modern protocol version on a session', liveHeaders(live, { 'mcp-protocol-version': '2026-07-28' })],
      ['foreign Host', liveHeaders(live, { host: 'evil.example' })],
      ['foreign Origin', liveHeaders(live, { origin: 'https://evil.example' })],
      ['Origin null', liveHeaders(live, { origin: 'null' })],
      ['two session ids', liveHeaders(live, { 'mcp-session-id': [live, pick(rng, pools.live)] })],
      ['8 KB session id', liveHeaders('s'.repeat(8_000))],
      ['session id with spaces', liveHeaders('a b c')],
      ['garbage bearer', liveHeaders(live, { authorization: `Bearer ${'x'.repeat(500)}` })],
      ['garbage api key', liveHeaders(live, { 'x-api-key': 'nope' })],
      ['gzip but not gzipped', liveHeaders(live, { 'content-encoding': 'gzip' })],
      ['unknown content-encoding', liveHeaders(live, { 'content-encoding': 'br2' })],
      ['content-type json+ld', liveHeaders(live, { 'content-type': 'application/ld+json' })],
      ['no headers at all', {}],
    ];
    const [what, headers] = pick(rng, variants);
    return { category: 'headers', what, method: 'POST', headers, body: good };
  }
  if (roll < 0.49) {
    // Oversized bodies.
    const size = int(rng, MAX_BODY + 1, MAX_BODY * 2);
    const body = `{"jsonrpc":"2.0","id":${id},"method":"tools/call","params":{"name":"ks__echo","arguments":{"text":"${'x'.repeat(size)}"}}}`;
    return {
      category: 'oversized',
      what: `${body.length} bytes`,
      method: 'POST',
      headers: rng() < 0.7 ? liveHeaders(live) : { 'content-type': 'application/json', accept: ACCEPT },
      body,
    };
  }
  if (roll < 0.56) {
    // Unknown session ids.
    const sid = pick(rng, [
      'no-such-session',
      uuidFrom(rng),
      '00000000-0000-0000-0000-000000000000',
      live.toUpperCase(),
      `${live}x`,
      live.slice(0, -1),
      '..',
      '%00',
      'ü',
    ]);
    const method = pick(rng, ['POST', 'POST', 'GET', 'DELETE']);
    return {
      category: 'unknown-session',
      what: `${method} ${sid.slice(0, 40)}`,
      method,
      headers: {
        'content-type': 'application/json',
        accept: method === 'GET' ? 'text/event-stream' : ACCEPT,
        'mcp-session-id': sid,
        'mcp-protocol-version': PROTOCOL_VERSION,
      },
      body: method === 'POST' ? requestText(String(id), 'tools/list', {}) : undefined,
    };
  }
  if (roll < 0.63) {
    // Requests on sessions that were DELETEd.
    const sid = pick(rng, pools.deleted);
    const method = pick(rng, ['POST', 'POST', 'POST', 'GET', 'DELETE']);
    const m = pick(rng, ['tools/call', 'tools/list', 'ping', 'initialize']);
    return {
      category: 'after-delete',
      what: `${method} ${m}`,
      method,
      headers: liveHeaders(sid, method === 'GET' ? { accept: 'text/event-stream' } : {}),
      body: method === 'POST' ? requestText(String(id), m, paramsFor(rng, m)) : undefined,
    };
  }
  if (roll < 0.68) {
    // HTTP methods and paths around the endpoint.
    const variants: [string, string, Record<string, string>, string?][] = [
      ['GET', '/mcp', { accept: 'text/event-stream' }],
      ['GET', '/mcp', { accept: 'text/html' }],
      ['GET', '/mcp', { accept: 'text/event-stream', 'mcp-session-id': live, 'mcp-protocol-version': PROTOCOL_VERSION }],
      ['DELETE', '/mcp', {}],
      ['PUT', '/mcp', { 'content-type': 'application/json' }, requestText(String(id), 'ping', undefined)],
      ['PATCH', '/mcp', { 'content-type': 'application/json' }, requestText(String(id), 'ping', undefined)],
      ['POST', '/mcp?x=1', { 'content-type': 'application/json', accept: ACCEPT }, requestText(String(id), 'ping', undefined)],
      ['POST', '/mcp/', { 'content-type': 'application/json', accept: ACCEPT }, requestText(String(id), 'ping', undefined)],
      ['POST', '/messages?sessionId=nope', { 'content-type': 'application/json' }, requestText(String(id), 'ping', undefined)],
      ['POST', '/messages', { 'content-type': 'application/json' }, requestText(String(id), 'ping', undefined)],
    ];
    const [method, path, headers, body] = pick(rng, variants);
    return { category: 'http-methods', what: `${method} ${path} ${JSON.stringify(headers).slice(0, 60)}`, method, path, headers, body };
  }
  if (roll < 0.72) {
    // The 2026-07-28 (stateless) leg, with hostile content.
    const m = pick(rng, METHODS);
    const params = paramsFor(rng, m);
    const good = {
      'io.modelcontextprotocol/protocolVersion': '2026-07-28',
      'io.modelcontextprotocol/clientCapabilities': {},
      'io.modelcontextprotocol/clientInfo': { name: 'f', version: '1' },
    };
    const meta: Record<string, unknown> = { ...good };
    if (rng() < 0.5) {
      // One envelope field wrong, missing, or a stranger added.
      const key = pick(rng, [...Object.keys(good), 'io.modelcontextprotocol/logLevel', 'x/y']);
      if (rng() < 0.3) delete meta[key];
      else meta[key] = pick(rng, ['1999-01-01', 42, null, 'x'.repeat(1_000), {}, [], 'debug']);
    }
    const envelope = rng() < 0.9 ? { _meta: meta } : {};
    const merged = params && typeof params === 'object' && !Array.isArray(params) ? { ...params, ...envelope } : params;
    // The 2026-07-28 transport repeats the method (and the tool/prompt name or URI) in headers.
    const headers: Record<string, string> = {
      'content-type': 'application/json',
      accept: ACCEPT,
      'mcp-protocol-version': pick(rng, ['2026-07-28', '2026-07-28', '2025-11-25', 'garbage']),
    };
    if (rng() < 0.85) headers['mcp-method'] = rng() < 0.9 ? m : pick(rng, METHODS);
    const p = (params ?? {}) as { name?: unknown; uri?: unknown };
    const name = m === 'resources/read' || m.startsWith('resources/') ? p.uri : p.name;
    if (typeof name === 'string' && /^[\x20-\x7e]{1,200}$/.test(name) && rng() < 0.9) headers['mcp-name'] = name;
    return {
      category: 'stateless',
      what: `${m}`,
      method: 'POST',
      headers,
      body: requestText(String(id), m, merged),
      // No session: only a 2026-07-28 request is served; whatever answers must answer this id.
      expectId: id,
    };
  }
  // Well-formed envelopes in live sessions, hostile params (the bulk: it reaches the pipeline and the upstream).
  const m = pick(rng, METHODS);
  const params = paramsFor(rng, m);
  const isNotification = m.startsWith('notifications/') && rng() < 0.8;
  if (isNotification) {
    return {
      category: 'notification',
      what: m,
      method: 'POST',
      headers: liveHeaders(live),
      body: JSON.stringify({ jsonrpc: '2.0', method: m, ...(params === undefined ? {} : { params }) }),
      noAnswerNeeded: true,
    };
  }
  if (rng() < 0.05) {
    // A response nobody asked for.
    return {
      category: 'stray-response',
      what: 'result for an unknown id',
      method: 'POST',
      headers: liveHeaders(live),
      body: JSON.stringify({ jsonrpc: '2.0', id: `stray-${id}`, result: {} }),
      noAnswerNeeded: true,
    };
  }
  return {
    category: 'hostile-params',
    what: `${m} ${JSON.stringify(params)?.slice(0, 60)}`,
    method: 'POST',
    headers: liveHeaders(live),
    body: requestText(String(id), m, params),
    expectId: id,
  };
}

/** Checks one answer; returns why it is wrong, or undefined. */
function judge(c: Case, res: RawResponse): string | undefined {
  if (res.status >= 500) return `HTTP ${res.status}`;
  if (res.status < 200) return `HTTP ${res.status}`;
  if (res.streamOpened) return c.method === 'GET' ? undefined : 'an event stream opened for a non-GET';
  const type = String(res.headers['content-type'] ?? '');
  if (res.text.length === 0) {
    if (res.status >= 400 && c.method !== 'HEAD') return `HTTP ${res.status} with an empty body (not a JSON-RPC error)`;
    if (res.status === 200 && c.expectId !== undefined) return 'HTTP 200 with an empty body for a request';
    return undefined;
  }
  if (!type.includes('application/json') && !type.includes('text/event-stream')) return `HTTP ${res.status} with content-type ${type || '(none)'}`;
  let messages: unknown[];
  try {
    messages = bodyMessages(res);
  } catch {
    return `HTTP ${res.status}: body is not parsable JSON/SSE`;
  }
  if (messages.length === 0) return `HTTP ${res.status}: no message in the body`;
  for (const m of messages) {
    const why = res.status >= 400 ? notAJsonRpcError(m) : notAJsonRpcMessage(m);
    if (why) return `HTTP ${res.status}: ${why}`;
  }
  if (res.status < 300 && c.expectId !== undefined) {
    const responses = (messages as WireMessage[]).filter((m) => m.method === undefined);
    if (responses.length !== 1) return `HTTP ${res.status}: ${responses.length} responses for one request`;
    if (responses[0]!.id !== c.expectId)
      return `HTTP ${res.status}: answered id ${JSON.stringify(responses[0]!.id)?.slice(0, 40)}, asked ${JSON.stringify(c.expectId).slice(0, 40)}`;
  }
  return undefined;
}

interface Readyz {
  sessions: Record<string, number>;
  upstreams: Record<string, { state: string; restarts: number }>;
}

// The real CLI in its own process: the fuzzer and the gateway each get a core.
describe('fuzzing the HTTP endpoint', () => {
  let dir: string;
  let cli: RunningCli | undefined;
  let gw: { url: string; mcpUrl: string };
  let bystander: Client;
  const pools: Pools = { live: [], deleted: [], opened: new Set(), nextId: 1_000 };
  const liveSessions: RawSession[] = [];
  const workerSessions: RawSession[] = [];

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'switchboard-fuzz-'));
    const config = {
      mcpServers: { ks: { command: 'node', args: [STDIO_FIXTURE] } },
      gateway: { maxBodyBytes: MAX_BODY, servers: { ks: { timeoutMs: 3_000 } }, audit: { file: path.join(dir, 'audit.log') } },
    };
    writeFileSync(path.join(dir, 'switchboard.json'), JSON.stringify(config));
    const port = await freePort();
    cli = spawnCli(['serve', '--port', String(port)], { cwd: dir, env: cliEnv() });
    await cli.waitForStderr(/upstream ks: ready/, 20_000);
    gw = { url: `http://127.0.0.1:${port}`, mcpUrl: `http://127.0.0.1:${port}/mcp` };
    bystander = await connectLegacy(gw.mcpUrl);
    for (let i = 0; i < LIVE_SESSIONS; i++) {
      const s = new RawSession(gw.mcpUrl);
      await s.initialize();
      liveSessions.push(s);
      pools.live.push(s.sessionId!);
    }
    for (let i = 0; i < CONCURRENCY; i++) {
      const s = new RawSession(gw.mcpUrl);
      await s.initialize();
      workerSessions.push(s);
    }
    for (let i = 0; i < DELETED_SESSIONS; i++) {
      const s = new RawSession(gw.mcpUrl);
      await s.initialize();
      const sid = s.sessionId!;
      expect(await s.close()).toBe(200);
      pools.deleted.push(sid);
    }
  });

  afterAll(async () => {
    await Promise.allSettled([...liveSessions, ...workerSessions].map((s) => s.close()));
    if (bystander) await endSession(bystander);
    await cli?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const readyz = async () => (await (await fetch(`${gw.url}/readyz`)).json()) as Readyz;
  const sessionCount = async () => Object.values((await readyz()).sessions).reduce((a, b) => a + b, 0);

  it(`answers ${MESSAGES} generated hostile messages (seed ${SEED}) with well-formed errors, and a normal client keeps working`, async () => {
    const rng = prng(SEED);
    const cases = Array.from({ length: MESSAGES }, () => generate(rng, pools));
    const agent = new http.Agent({ keepAlive: true, maxSockets: CONCURRENCY });
    const base = new URL(gw.mcpUrl);
    const violations: Violation[] = [];
    const byCategory = new Map<string, { n: number; ms: number; statuses: Map<number, number> }>();
    const latencies: number[] = [];

    // The normal client: one call at a time on its own session, the whole time.
    let fuzzing = true;
    const normal = { calls: 0, failures: [] as string[], latencies: [] as number[] };
    const normalLoop = (async () => {
      for (let i = 0; fuzzing && i < 100_000; i++) {
        const text = `normal-${i}`;
        const t0 = performance.now();
        try {
          const r = await bystander.callTool({ name: 'ks__echo', arguments: { text } });
          const got = (r.content as { text?: string }[])[0]?.text;
          if (got !== text) normal.failures.push(`call ${i}: got ${JSON.stringify(r).slice(0, 200)}`);
        } catch (err) {
          normal.failures.push(`call ${i}: ${String(err)}`);
        }
        normal.calls++;
        normal.latencies.push(performance.now() - t0);
        await sleep(10);
      }
    })();

    const t0 = performance.now();
    let next = 0;
    const worker = async (w: number) => {
      while (next < cases.length) {
        const index = next++;
        const c = cases[index]!;
        if (c.ownSession) c.headers['mcp-session-id'] = workerSessions[w]!.sessionId!;
        const url = new URL(c.path ?? base.pathname, base);
        const started = performance.now();
        let res: RawResponse | undefined;
        let failure: string | undefined;
        try {
          res = await rawRequest(url, { method: c.method, headers: c.headers, body: c.body, agent, timeoutMs: PER_REQUEST_TIMEOUT_MS });
        } catch (err) {
          failure = `no answer: ${(err as Error).message}`;
        }
        latencies.push(performance.now() - started);
        const stats = byCategory.get(c.category) ?? { n: 0, ms: 0, statuses: new Map() };
        stats.n++;
        stats.ms += performance.now() - started;
        if (res) stats.statuses.set(res.status, (stats.statuses.get(res.status) ?? 0) + 1);
        byCategory.set(c.category, stats);
        const sid = res?.headers['mcp-session-id'];
        if (typeof sid === 'string' && !pools.live.includes(sid) && !workerSessions.some((ws) => ws.sessionId === sid)) pools.opened.add(sid);
        const reason = failure ?? judge(c, res!);
        if (reason) violations.push({ index, category: c.category, what: c.what, status: res?.status, reason, body: res?.text.slice(0, 200) });
      }
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, (_, w) => worker(w)));
    const elapsed = performance.now() - t0;
    fuzzing = false;
    await normalLoop;
    agent.destroy();

    const lat = latencyStats(latencies);
    const normalLat = latencyStats(normal.latencies);
    console.log(
      `[fuzz] seed ${SEED}: ${cases.length} messages in ${fmtMs(elapsed)} (${((cases.length / elapsed) * 1000).toFixed(0)}/s), ` +
        `p50 ${fmtMs(lat.p50)}, p99 ${fmtMs(lat.p99)}, max ${fmtMs(lat.max)}; violations ${violations.length}`,
    );
    for (const [category, s] of [...byCategory].sort()) {
      console.log(
        `[fuzz]   ${category.padEnd(16)} ${String(s.n).padStart(5)}  mean ${fmtMs(s.ms / s.n).padStart(9)}  ${[...s.statuses]
          .sort((a, b) => a[0] - b[0])
          .map(([st, n]) => `${st}×${n}`)
          .join(' ')}`,
      );
    }
    console.log(
      `[fuzz] normal client: ${normal.calls} calls, ${normal.failures.length} failed, p50 ${fmtMs(normalLat.p50)}, p99 ${fmtMs(normalLat.p99)}, max ${fmtMs(normalLat.max)}`,
    );

    // Group violations by (category, reason) for a readable failure.
    const grouped = new Map<string, Violation[]>();
    for (const v of violations) {
      const key = `${v.category}: ${v.reason.replace(/\d+ ms/, 'N ms')}`;
      grouped.set(key, [...(grouped.get(key) ?? []), v]);
    }
    const summary = [...grouped].map(([key, vs]) => `${vs.length}× ${key} — e.g. #${vs[0]!.index} ${vs[0]!.what.slice(0, 80)} → ${vs[0]!.body ?? ''}`);
    for (const line of summary) console.log(`[fuzz] VIOLATION ${line}`);

    expect.soft(summary, 'answers that are not well-formed errors (seed to replay: STRESS_SEED)').toEqual([]);
    expect(normal.failures).toEqual([]);
    expect(normal.calls).toBeGreaterThan(20);

    // The gateway is still up and the upstream untouched.
    expect(cli!.child.exitCode).toBeNull();
    expect((await fetch(`${gw.url}/healthz`)).status).toBe(200);
    expect((await readyz()).upstreams.ks).toMatchObject({ state: 'ready', restarts: 0 });

    // No session leaks: the ones the fuzz opened are closed, and only ours remain.
    for (const sid of pools.opened) {
      await rawRequest(base, { method: 'DELETE', headers: { 'mcp-session-id': sid, 'mcp-protocol-version': PROTOCOL_VERSION }, timeoutMs: 5_000 }).catch(
        () => {},
      );
    }
    await eventually(sessionCount, (n) => n === LIVE_SESSIONS + CONCURRENCY + 1, 5_000);
  });

  it('answers a request that reuses an id still in flight on the same session (an error or a result, never a hang)', async () => {
    // JSON-RPC ids must be unique among a session's requests in flight; a client that breaks the rule
    // must get an error for the duplicate, not leave either HTTP request open forever.
    const s = liveSessions[0]!;
    const body = (ms: number) => requestText('"dup"', 'tools/call', { name: 'ks__slow', arguments: { ms } });
    const send = (ms: number) =>
      rawRequest(s.url, { headers: s.headers, body: body(ms), timeoutMs: 5_000 }).then(
        (res) => ({
          status: res.status,
          why: judge({ category: 'dup', what: 'dup', method: 'POST', headers: {}, expectId: res.status < 300 ? 'dup' : undefined }, res),
          text: res.text.slice(0, 200),
        }),
        (err: Error) => ({ status: 0, why: `no answer: ${err.message}`, text: '' }),
      );
    const [first, second] = await Promise.all([send(400), (async () => (await sleep(50), send(100)))()]);
    expect.soft(first.why, `first request: ${first.text}`).toBeUndefined();
    expect.soft(second.why, `second request: ${second.text}`).toBeUndefined();
    // The session is still usable afterwards.
    expect((await s.call('ks__echo', { text: 'after dup' })).content).toEqual([{ type: 'text', text: 'after dup' }]);
  });

  it('still shuts down cleanly after the fuzz', async () => {
    await Promise.allSettled([...liveSessions, ...workerSessions].map((s) => s.close()));
    await endSession(bystander);
    await eventually(sessionCount, (n) => n === 0, 5_000);
    cli!.child.kill('SIGTERM');
    expect(await waitForExit(cli!.child, 15_000)).toBe(0);
  });
});
