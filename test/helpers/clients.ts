/**
 * Client-side helpers for the transport matrix: the in-process kitchen-sink
 * HTTP fixture (typed), the v1 SDK clients over SSE and stdio, and a
 * transport wrapper that records what crossed it.
 */
import { Client as LegacyClient } from '@modelcontextprotocol/sdk/client/index.js';
import { SSEClientTransport as LegacySseTransport } from '@modelcontextprotocol/sdk/client/sse.js';
import { StdioClientTransport, type StdioServerParameters } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport as LegacyHttpTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import type { ClientCapabilities, JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';

/** Mirrors `HttpFixture` in test/fixtures/servers/http.mjs (a .mjs file has no typings under this tsconfig). */
export interface HttpFixture {
  url: string;
  port: number;
  headersSeen: Record<string, string | string[] | undefined>[];
  sessionCount(): number;
  close(): Promise<void>;
}

export type HttpFixtureMode = 'sessionful' | 'modern';

export async function startHttpFixture(options: { mode?: HttpFixtureMode; name?: string; port?: number } = {}): Promise<HttpFixture> {
  const mod = (await import(new URL('../fixtures/servers/http.mjs', import.meta.url).href)) as {
    startHttpFixture: (o: { port?: number; mode?: HttpFixtureMode; name?: string }) => Promise<HttpFixture>;
  };
  return mod.startHttpFixture({ port: 0, ...options });
}

/**
 * Wraps a v1 transport and records every message received and every error
 * the transport reported (a stdout line that is not JSON-RPC is reported by
 * the SDK's stdio transport as an error, never as a message).
 */
export class RecordingTransport implements Transport {
  onclose?: () => void;
  onerror?: (error: Error) => void;
  onmessage?: (message: JSONRPCMessage) => void;
  readonly received: JSONRPCMessage[] = [];
  readonly errors: Error[] = [];

  constructor(readonly inner: Transport) {}

  get sessionId(): string | undefined {
    return this.inner.sessionId;
  }

  async start(): Promise<void> {
    this.inner.onmessage = (message) => {
      this.received.push(message);
      this.onmessage?.(message);
    };
    this.inner.onerror = (error) => {
      this.errors.push(error);
      this.onerror?.(error);
    };
    this.inner.onclose = () => this.onclose?.();
    await this.inner.start();
  }

  send(message: JSONRPCMessage, options?: Parameters<Transport['send']>[1]): Promise<void> {
    return this.inner.send(message, options);
  }

  close(): Promise<void> {
    return this.inner.close();
  }

  setProtocolVersion(version: string): void {
    this.inner.setProtocolVersion?.(version);
  }
}

/** The v1 client over Streamable HTTP with extra request headers (e.g. the client's own Authorization). */
export async function connectLegacyWithHeaders(mcpUrl: string, headers: Record<string, string>, capabilities: ClientCapabilities = {}): Promise<LegacyClient> {
  const client = new LegacyClient({ name: 'test-client', version: '1.0.0' }, { capabilities });
  await client.connect(new LegacyHttpTransport(new URL(mcpUrl), { requestInit: { headers } }));
  return client;
}

/** The v1 client over the 2024-11-05 HTTP+SSE transport. */
export async function connectLegacySse(sseUrl: string, capabilities: ClientCapabilities = {}): Promise<LegacyClient> {
  const client = new LegacyClient({ name: 'test-sse-client', version: '1.0.0' }, { capabilities });
  await client.connect(new LegacySseTransport(new URL(sseUrl)));
  return client;
}

export interface StdioConnection {
  client: LegacyClient;
  transport: StdioClientTransport;
  recorder: RecordingTransport;
  /** Everything the child wrote to stderr so far. */
  stderr(): string;
  /** Transport errors the client saw (non-JSON stdout lines among them). */
  clientErrors: Error[];
}

/** The v1 client over stdio to a spawned process, with stdout recorded and stderr captured. */
export async function connectStdio(params: StdioServerParameters, capabilities: ClientCapabilities = {}): Promise<StdioConnection> {
  const transport = new StdioClientTransport({ ...params, stderr: 'pipe' });
  let stderr = '';
  transport.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  const recorder = new RecordingTransport(transport);
  const client = new LegacyClient({ name: 'test-stdio-client', version: '1.0.0' }, { capabilities });
  const clientErrors: Error[] = [];
  client.onerror = (error) => void clientErrors.push(error);
  await client.connect(recorder);
  return { client, transport, recorder, stderr: () => stderr, clientErrors };
}

/** A JSON-RPC message as seen on the wire (loosely typed: requests, notifications and responses alike). */
export interface WireMessage {
  jsonrpc?: string;
  id?: string | number;
  method?: string;
  params?: Record<string, unknown> & { _meta?: Record<string, unknown> };
  result?: unknown;
  error?: unknown;
}

/** What crossed a tapped transport, in order, recorded before the client's SDK dispatched it. */
export interface Tap {
  received: WireMessage[];
  sent: WireMessage[];
}

/**
 * Records every message a connected client's transport receives and sends
 * (v1 or v2 SDK; call after `connect`, which installs `onmessage`). Received
 * messages are recorded synchronously on arrival, so a notification the SDK
 * later drops (its progress handler is removed when a response in the same
 * read settles the request first) is still seen here.
 */
export function tap(transport: unknown): Tap {
  const t = transport as { onmessage?: (message: unknown, extra?: unknown) => void; send(message: unknown, options?: unknown): Promise<void> };
  const recorded: Tap = { received: [], sent: [] };
  const onmessage = t.onmessage;
  if (!onmessage) throw new Error('tap: the transport is not connected (no onmessage)');
  t.onmessage = (message, extra) => {
    recorded.received.push(message as WireMessage);
    onmessage.call(t, message, extra);
  };
  const send = t.send.bind(t);
  t.send = (message, options) => {
    recorded.sent.push(message as WireMessage);
    return send(message, options);
  };
  return recorded;
}

/**
 * The progress notifications received for the last `tools/call` of `tool`
 * sent through `recorded` since the given marks, before its response, and the
 * progress token the client put on that call.
 */
export function progressOf(
  recorded: Tap,
  tool: string,
  since: { sent: number; received: number },
): { token: unknown; progress: WireMessage[]; responded: boolean } {
  const call = recorded.sent
    .slice(since.sent)
    .filter((m) => m.method === 'tools/call' && m.params?.name === tool)
    .at(-1);
  if (!call) throw new Error(`progressOf: no tools/call of ${tool} was sent`);
  const token = call.params?._meta?.progressToken;
  const after = recorded.received.slice(since.received);
  const responseAt = after.findIndex((m) => m.id === call.id && m.method === undefined);
  const before = responseAt === -1 ? after : after.slice(0, responseAt);
  return {
    token,
    progress: before.filter((m) => m.method === 'notifications/progress' && m.params?.progressToken === token),
    responded: responseAt !== -1,
  };
}

/** Marks to pass to {@link progressOf}. */
export const mark = (recorded: Tap) => ({ sent: recorded.sent.length, received: recorded.received.length });
