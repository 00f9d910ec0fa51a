/**
 * Builds and connects the client transport for one upstream: stdio,
 * Streamable HTTP (era negotiated), or legacy HTTP+SSE (explicit, or as the
 * fallback when Streamable HTTP answers 4xx). The downstream client's
 * credentials never reach this file: only the upstream's own configured
 * headers and, with `oauth`, the upstream's own OAuth token (oauth.ts) do.
 *
 * The client speaks through layers around the wire's own transport, each
 * wrapping the next by delegation (layer.ts). Outermost first:
 *
 * 0. DirectRequests (every wire): requests the gateway sends past the SDK
 *    client and whose answers it reads itself (the tasks extension's).
 * 1. NotificationOrder (every wire): a response that follows a notification
 *    in the same turn waits a turn. Outermost, so that it also orders the
 *    answers the StreamEndGuard makes up.
 * 2. StreamEndGuard (Streamable HTTP): a request whose response stream ends
 *    unanswered is answered with an error at once. Above the lean path, so
 *    that it sees every request, whichever path carries it.
 * 3. LeanHttpTransport (Streamable HTTP): POSTs on node:http, around
 * 4. the SDK's StreamableHTTPClientTransport (or SSEClientTransport, or
 *    StdioUpstreamTransport).
 *
 * The layers are engaged once the handshake is done (see layer.ts).
 *
 * A handshake never outlives the gateway: once it stops (its KeepAlive is
 * destroyed, the last thing it does), a connect still in progress gives up
 * at once, a stdio child that never answered is killed, and nothing waits
 * for the connect timeout.
 */
import { type Client, SSEClientTransport, SdkHttpError, StreamableHTTPClientTransport, type AuthProvider, type Transport } from '@modelcontextprotocol/client';
import type { HttpServerSpec, ServerConfig, StdioServerSpec } from '../../config/schema/index.js';
import type { UpstreamCaches } from '../caches.js';
import { identityFetch } from '../identity.js';
import { DirectRequests } from './direct-requests.js';
import { TransportLayer } from './layer.js';
import { leanHttpTransport } from './lean-http.js';
import { NotificationOrder } from './notification-order.js';
import { StdioUpstreamTransport } from './stdio.js';
import { StreamEndGuard } from './stream-end.js';

export interface ConnectedClient {
  client: Client;
  /** What the client speaks through: the outermost layer. */
  transport: Transport;
  /** The wire's own transport, under the layers (the stdio child's, or the SDK's HTTP one). */
  base: Transport;
  /** Which wire the upstream ended up on. */
  wire: 'stdio' | 'streamable-http' | 'sse';
  /** Requests whose answers the gateway reads itself (the tasks extension's), on the same wire. */
  direct: DirectRequests;
}

export interface ConnectOptions {
  config: ServerConfig;
  makeClient: (negotiate: boolean) => Client;
  timeoutMs: number;
  /** The gateway's OAuth providers and keep-alive sockets. */
  caches: UpstreamCaches;
  onStderr?: (line: string) => void;
  /** A stdio server's stderr line was cut at its bounded length. */
  onStderrTruncated?: () => void;
  /** A caller's own credential (credentials "user-oauth"/"token-exchange") instead of the server's configured one. */
  auth?: AuthProvider;
}

export async function connectUpstream(options: ConnectOptions): Promise<ConnectedClient> {
  const { spec } = options.config;
  if (options.caches.keepAlive.stopped.aborted) throw stoppedWhileConnecting();
  if (spec.type === 'stdio') return connectStdio(spec, options);
  // Shared by every connection to this server; fails here, before any request, when a login is needed.
  const configured = options.auth ? undefined : options.caches.auths.for(options.config.name, spec);
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

async function connectStdio(spec: StdioServerSpec, options: ConnectOptions): Promise<ConnectedClient> {
  const base = new StdioUpstreamTransport({ spec, onStderr: options.onStderr, onStderrTruncated: options.onStderrTruncated });
  try {
    // stdio servers are spoken to with `initialize`: probing would spawn a
    // second process per connect, and dual-era stdio servers accept it.
    return await handshake(options.makeClient(false), base, 'stdio', options);
  } catch (err) {
    throw withStderr(err, base.recentStderr);
  }
}

async function connectStreamableHttp(spec: HttpServerSpec, options: ConnectOptions, authProvider?: AuthProvider): Promise<ConnectedClient> {
  const url = new URL(spec.url);
  const { keepAlive } = options.caches;
  const lean = leanHttpTransport(
    { url, headers: spec.headers, auth: authProvider, identityHeaders: options.config.identityHeaders, keepAlive },
    {
      requestInit: { headers: spec.headers },
      authProvider,
      fetch: identityFetch(options.config.identityHeaders, keepAlive.fetch as typeof fetch),
      redirectPolicy: 'same-origin',
    },
  );
  return handshake(options.makeClient(true), lean, 'streamable-http', options);
}

async function connectSse(spec: HttpServerSpec, options: ConnectOptions, authProvider?: AuthProvider): Promise<ConnectedClient> {
  const withIdentity = identityFetch(options.config.identityHeaders, options.caches.keepAlive.fetch as typeof fetch);
  const base = new SSEClientTransport(new URL(spec.url), {
    requestInit: { headers: spec.headers },
    fetch: withIdentity,
    // The SDK passes its own headers (with the OAuth token, if any) in `init`: they win.
    eventSourceInit: { fetch: (url, init) => withIdentity(url, { ...init, headers: mergeHeaders(spec.headers, init?.headers) }) },
    authProvider,
    redirectPolicy: 'same-origin',
  });
  return handshake(options.makeClient(false), base, 'sse', options);
}

/** The layers of the file comment around `transport`, in that order. */
function layered(transport: Transport, wire: ConnectedClient['wire']): DirectRequests {
  const guarded = wire === 'streamable-http' ? new StreamEndGuard(transport) : transport;
  return new DirectRequests(new NotificationOrder(guarded));
}

/** Connects the client through the layers, then engages them; a failed or abandoned handshake never leaves the transport open. */
async function handshake(client: Client, transport: Transport, wire: ConnectedClient['wire'], options: ConnectOptions): Promise<ConnectedClient> {
  const outer = layered(transport, wire);
  try {
    await unlessStopped(client.connect(outer, { timeout: options.timeoutMs }), options.caches.keepAlive.stopped, () => {
      // No time left, and it never answered: no grace period for a stdio child.
      if (transport instanceof StdioUpstreamTransport) transport.kill();
      void outer.close().catch(() => {});
    });
  } catch (err) {
    await outer.close().catch(() => {});
    throw err;
  }
  outer.engage();
  return { client, transport: outer, base: baseOf(transport), wire, direct: outer };
}

/** The wire's own transport under `transport` (the SDK's, under the lean path). */
function baseOf(transport: Transport): Transport {
  return transport instanceof TransportLayer ? baseOf(transport.inner) : transport;
}

/** `connecting`, unless `stopped` aborts first: then `abandon()` runs and this rejects at once. */
function unlessStopped<T>(connecting: Promise<T>, stopped: AbortSignal, abandon: () => void): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const onStop = () => {
      abandon();
      reject(stoppedWhileConnecting());
    };
    if (stopped.aborted) onStop();
    else stopped.addEventListener('abort', onStop, { once: true });
    connecting.then(
      (value) => {
        stopped.removeEventListener('abort', onStop);
        resolve(value);
      },
      (err: unknown) => {
        stopped.removeEventListener('abort', onStop);
        reject(err);
      },
    );
  });
}

function stoppedWhileConnecting(): Error {
  return new Error('the gateway stopped while connecting');
}

/** Ends an upstream connection, telling an HTTP server to drop its session first. */
export async function disconnectUpstream(connected: ConnectedClient): Promise<void> {
  const { transport, base, client } = connected;
  if (base instanceof StreamableHTTPClientTransport && base.sessionId) {
    await withTimeout(base.terminateSession(), 2_000).catch(() => {});
  }
  await client.close().catch(() => {});
  await transport.close().catch(() => {});
}

/**
 * Whether a failed request shows the connection itself is gone: the server
 * forgot our session (404, it restarted) or cannot be reached at all. The
 * connection is then replaced rather than reused.
 */
export function isConnectionLost(err: unknown, connected: ConnectedClient | undefined): boolean {
  if (err instanceof SdkHttpError) return err.status === 404 && connected?.transport.sessionId !== undefined;
  const cause = err instanceof Error ? (err.cause as { code?: unknown } | undefined) : undefined;
  return err instanceof TypeError && typeof cause?.code === 'string' && NETWORK_ERRORS.has(cause.code);
}

const NETWORK_ERRORS: ReadonlySet<string> = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'EHOSTUNREACH', 'ENETUNREACH', 'UND_ERR_SOCKET']);

/** `base` overridden by `over`, names compared case-insensitively (a plain object spread would send both). */
function mergeHeaders(base: Record<string, string>, over: RequestInit['headers']): Headers {
  const merged = new Headers(base);
  new Headers(over).forEach((value, key) => {
    merged.set(key, value);
  });
  return merged;
}

function withStderr(err: unknown, stderr: string): Error {
  const base = err instanceof Error ? err : new Error(String(err));
  if (!stderr) return base;
  return new Error(`${base.message}; stderr: ${stderr.slice(-2_000)}`, { cause: base });
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([promise.finally(() => clearTimeout(timer)), new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), ms)))]);
}
