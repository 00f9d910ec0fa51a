/**
 * Builds and connects the SDK client transport for one upstream: stdio,
 * Streamable HTTP (era negotiated), or legacy HTTP+SSE (explicit, or as the
 * fallback when Streamable HTTP answers 4xx). The downstream client's
 * credentials never reach this file: only the upstream's own configured
 * headers and, with `oauth`, the upstream's own OAuth token (oauth.ts) do.
 */
import {
  Client,
  INTERNAL_ERROR,
  ProtocolError,
  SSEClientTransport,
  SdkHttpError,
  StreamableHTTPClientTransport,
  type AuthProvider,
  type JSONRPCMessage,
  type RequestId,
  type Transport,
} from '@modelcontextprotocol/client';
import type { HttpServerSpec, ServerConfig } from '../config/schema.js';
import { upstreamAuthFor } from './oauth.js';
import { isRequest } from '../core/json-rpc.js';
import { identityFetch } from './identity.js';
import { postLean } from './lean-post.js';
import { StdioUpstreamTransport } from './stdio.js';

export interface ConnectedClient {
  client: Client;
  transport: Transport;
  /** Which wire the upstream ended up on. */
  wire: 'stdio' | 'streamable-http' | 'sse';
}

export interface ConnectOptions {
  config: ServerConfig;
  makeClient: (negotiate: boolean) => Client;
  timeoutMs: number;
  onStderr?: (line: string) => void;
  /** A stdio server's stderr line was cut at its bounded length. */
  onStderrTruncated?: () => void;
  /** A caller's own credential (credentials "user-oauth"/"token-exchange") instead of the server's configured one. */
  auth?: AuthProvider;
}

export async function connectUpstream(options: ConnectOptions): Promise<ConnectedClient> {
  const connected = await connectByType(options);
  keepNotificationsBeforeResponses(connected.transport);
  if (connected.wire === 'streamable-http') failRequestsWhoseStreamEnds(connected.transport);
  return connected;
}

const STREAM_ENDED = 'stream-ended';

/**
 * The SDK leaves a request pending when the SSE stream that should carry its
 * answer ends without one (the server died mid-call): the caller would wait
 * for its whole timeout. Such a request is answered at once with an error
 * that `isStreamEnded` recognises.
 */
function failRequestsWhoseStreamEnds(transport: Transport): void {
  const deliver = transport.onmessage;
  const send = transport.send.bind(transport);
  const pending = new Set<RequestId>();
  transport.onmessage = (message, extra) => {
    if (!('method' in message) && 'id' in message && message.id !== undefined) pending.delete(message.id);
    deliver?.(message, extra);
  };
  transport.send = async (message, options) => {
    if (Array.isArray(message) || !isRequest(message)) return send(message, options);
    const { id } = message;
    pending.add(id);
    const onRequestStreamEnd = () => {
      options?.onRequestStreamEnd?.();
      if (!pending.delete(id)) return;
      const unanswered: JSONRPCMessage = {
        jsonrpc: '2.0',
        id,
        error: { code: INTERNAL_ERROR, message: 'The upstream closed the response stream before answering', data: { reason: STREAM_ENDED } },
      };
      transport.onmessage?.(unanswered);
    };
    try {
      return await send(message, { ...options, onRequestStreamEnd });
    } catch (err) {
      pending.delete(id);
      throw err;
    }
  };
  const close = transport.onclose;
  transport.onclose = () => {
    pending.clear();
    close?.();
  };
}

/** The error a request gets when its response stream ended unanswered. */
export function isStreamEnded(err: unknown): boolean {
  return err instanceof ProtocolError && (err.data as { reason?: unknown } | undefined)?.reason === STREAM_ENDED;
}

/**
 * Whether a failed request shows the connection itself is gone: the server
 * forgot our session (404, it restarted) or cannot be reached at all. The
 * connection is then replaced rather than reused.
 */
export function isConnectionLost(err: unknown, connected: ConnectedClient | undefined): boolean {
  if (err instanceof SdkHttpError) return err.status === 404 && (connected?.transport as { sessionId?: string } | undefined)?.sessionId !== undefined;
  const cause = err instanceof Error ? (err.cause as { code?: unknown } | undefined) : undefined;
  return err instanceof TypeError && typeof cause?.code === 'string' && NETWORK_ERRORS.has(cause.code);
}

const NETWORK_ERRORS = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'EHOSTUNREACH', 'ENETUNREACH', 'UND_ERR_SOCKET']);

/**
 * The SDK client handles a notification a microtask later but settles a
 * response at once, so a progress notification that arrives in the same
 * read as its call's result would find its handler gone and be dropped. A
 * response that follows a notification within the same turn is delivered one
 * turn later, after the notification has been handled.
 */
function keepNotificationsBeforeResponses(transport: Transport): void {
  const deliver = transport.onmessage;
  if (!deliver) return;
  let notifiedThisTurn = false;
  transport.onmessage = (message, extra) => {
    const isNotification = 'method' in message && !('id' in message);
    const isResponse = !('method' in message);
    if (isNotification && !notifiedThisTurn) {
      notifiedThisTurn = true;
      setImmediate(() => (notifiedThisTurn = false));
    }
    if (isResponse && notifiedThisTurn) setImmediate(() => deliver(message, extra));
    else deliver(message, extra);
  };
}

async function connectByType(options: ConnectOptions): Promise<ConnectedClient> {
  const { spec } = options.config;
  if (spec.type === 'stdio') {
    const transport = new StdioUpstreamTransport({ spec, onStderr: options.onStderr, onStderrTruncated: options.onStderrTruncated });
    // stdio servers are spoken to with `initialize`: probing would spawn a
    // second process per connect, and dual-era stdio servers accept it.
    const client = options.makeClient(false);
    try {
      await client.connect(transport, { timeout: options.timeoutMs });
    } catch (err) {
      await transport.close().catch(() => {});
      throw withStderr(err, transport.recentStderr);
    }
    return { client, transport, wire: 'stdio' };
  }
  // Shared by every connection to this server; fails here, before any request, when a login is needed.
  const configured = options.auth ? undefined : upstreamAuthFor(options.config.name, spec);
  await configured?.prepare();
  const authProvider = options.auth ?? configured;
  if (spec.type === 'sse') return connectSse(spec, options, authProvider);
  try {
    return await connectStreamableHttp(spec, options, authProvider);
  } catch (err) {
    // Spec-described fallback: a legacy HTTP+SSE server answers the
    // Streamable HTTP POST with 400, 404 or 405.
    if (err instanceof SdkHttpError && [400, 404, 405].includes(err.status)) return connectSse(spec, options, authProvider);
    throw err;
  }
}

async function connectStreamableHttp(spec: HttpServerSpec, options: ConnectOptions, authProvider?: AuthProvider): Promise<ConnectedClient> {
  const transport = new StreamableHTTPClientTransport(new URL(spec.url), {
    requestInit: { headers: spec.headers },
    authProvider,
    fetch: identityFetch(options.config.identityHeaders),
    redirectPolicy: 'same-origin',
  });
  const connected = await handshake(options.makeClient(true), transport, 'streamable-http', options.timeoutMs);
  postLean(transport, { url: new URL(spec.url), headers: spec.headers, auth: authProvider, identityHeaders: options.config.identityHeaders });
  return connected;
}

async function connectSse(spec: HttpServerSpec, options: ConnectOptions, authProvider?: AuthProvider): Promise<ConnectedClient> {
  const withIdentity = identityFetch(options.config.identityHeaders);
  const transport = new SSEClientTransport(new URL(spec.url), {
    requestInit: { headers: spec.headers },
    fetch: withIdentity,
    // The SDK passes its own headers (with the OAuth token, if any) in `init`: they win.
    eventSourceInit: { fetch: (url, init) => withIdentity(url, { ...init, headers: mergeHeaders(spec.headers, init?.headers) }) },
    authProvider,
    redirectPolicy: 'same-origin',
  });
  return handshake(options.makeClient(false), transport, 'sse', options.timeoutMs);
}

/** Connects the client; a failed handshake never leaves its transport open. */
async function handshake(client: Client, transport: Transport, wire: ConnectedClient['wire'], timeoutMs: number): Promise<ConnectedClient> {
  try {
    await client.connect(transport, { timeout: timeoutMs });
  } catch (err) {
    await transport.close().catch(() => {});
    throw err;
  }
  return { client, transport, wire };
}

/** Ends an upstream connection, telling an HTTP server to drop its session first. */
export async function disconnectUpstream(connected: ConnectedClient): Promise<void> {
  const { transport, client } = connected;
  if (transport instanceof StreamableHTTPClientTransport && transport.sessionId) {
    await withTimeout(transport.terminateSession(), 2_000).catch(() => {});
  }
  await client.close().catch(() => {});
  await transport.close().catch(() => {});
}

/** `base` overridden by `over`, names compared case-insensitively (a plain object spread would send both). */
function mergeHeaders(base: Record<string, string>, over: RequestInit['headers']): Headers {
  const merged = new Headers(base);
  new Headers(over).forEach((value, key) => merged.set(key, value));
  return merged;
}

function withStderr(err: unknown, stderr: string): Error {
  const base = err instanceof Error ? err : new Error(String(err));
  if (!stderr) return base;
  return new Error(`${base.message}; stderr: ${stderr.slice(-2_000)}`, { cause: base });
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise.finally(() => clearTimeout(timer)),
    new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), ms))),
  ]);
}
