/**
 * The POST path of an established Streamable HTTP upstream connection, on
 * node:http. Every forwarded call is one such POST; through the SDK
 * transport it costs a fetch Response, a body stream, a TextDecoderStream,
 * an EventSourceParserStream and a zod parse per message, about a fifth of
 * the gateway's CPU per call (bench/profile.mjs http). Here the answer is
 * read as JSON or as SSE text directly (lean-read.ts).
 *
 * A layer around the SDK's own transport, which it wraps by delegation:
 * everything else goes to it: the handshake, the GET stream, DELETE,
 * 2026-07-28 requests (their per-request headers), and any answer that is
 * not plainly success: 401/403 (the SDK runs the OAuth flow and sends again;
 * the upstream did not run the request) and redirects go back through the
 * SDK's own send. A response stream that ends unanswered after the server
 * gave event ids is resumed by the SDK's own reconnection (GET with
 * Last-Event-ID), after the server's `retry` interval.
 *
 * It sends the headers the SDK would (the configured ones, the bearer token
 * from the same AuthProvider, the session id and protocol version), plus the
 * caller's identity headers. The resumption is the one SDK member it uses
 * that the SDK does not publish (SDK_PRIVATE_MEMBERS); without it (a future
 * SDK) every send goes to the SDK, and test/unit/upstream/transport says so
 * by failing. The `retry` interval reaches the SDK through its public
 * `reconnectionScheduler` option: one read on a lean stream sets the delay of
 * every later resumption, as one the SDK reads on its own streams does.
 */
import {
  PROTOCOL_VERSION_META_KEY,
  SdkError,
  SdkErrorCode,
  SdkHttpError,
  StreamableHTTPClientTransport,
  type AuthProvider,
  type JSONRPCMessage,
  type ReconnectionScheduler,
  type StreamableHTTPClientTransportOptions,
  type TransportSendOptions,
} from '@modelcontextprotocol/client';
import type { IncomingMessage } from 'node:http';
import { isInitialize } from '../../core/json-rpc.js';
import { callerHeaders } from '../identity.js';
import type { KeepAlive } from './fetch.js';
import { TransportLayer } from './layer.js';
import { parseJsonAnswer, post, readEvents, readText, type ResumeOptions, type StreamSink } from './lean-read.js';

/** The SDK transport's unpublished members this relies on; a unit test fails when the installed SDK lacks one. */
export const SDK_PRIVATE_MEMBERS = ['_scheduleReconnection'] as const;

interface SdkInternals {
  _scheduleReconnection(options: ResumeOptions, attempt: number): void;
}

/** Whether `sdk` has every member of SDK_PRIVATE_MEMBERS (else nothing goes the lean way). */
export function sdkSupportsLean(sdk: StreamableHTTPClientTransport): boolean {
  const members = sdk as unknown as Record<string, unknown>;
  return SDK_PRIVATE_MEMBERS.every((name) => typeof members[name] === 'function');
}

export interface LeanTarget {
  url: URL;
  /** The server's configured headers (`requestInit.headers` of the SDK transport). */
  headers: Record<string, string>;
  /** The AuthProvider the SDK transport is given: asked for the bearer token before each POST, as the SDK does. */
  auth?: AuthProvider;
  /** Headers naming the caller (`servers.<n>.identityHeaders`). */
  identityHeaders: Record<string, 'id' | 'groups' | 'scopes'>;
  /** The gateway's keep-alive sockets. */
  keepAlive: KeepAlive;
}

/** The SDK's Streamable HTTP transport to `target`, made with `options`, wrapped in the lean POST path. */
export function leanHttpTransport(target: LeanTarget, options: StreamableHTTPClientTransportOptions): LeanHttpTransport {
  const retry = new ServerRetry();
  const sdk = new StreamableHTTPClientTransport(target.url, { ...options, reconnectionScheduler: retry.schedule });
  return new LeanHttpTransport(sdk, target, retry);
}

/** The `retry` interval a lean stream gave, in place of the delay the SDK worked out (it cannot see those streams). */
export class ServerRetry {
  ms?: number;
  readonly schedule: ReconnectionScheduler = (reconnect, delay) => {
    const timer = setTimeout(reconnect, this.ms ?? delay);
    return () => clearTimeout(timer);
  };
}

export class LeanHttpTransport extends TransportLayer {
  /** Sends by path: the count that shows the lean path is in use (and how often the SDK's was taken instead). */
  readonly sent = { lean: 0, sdk: 0 };
  private readonly sdk: StreamableHTTPClientTransport;
  private readonly lean: boolean;
  /** What every lean POST carries before the per-request headers, worked out once. */
  private readonly baseHeaders: Record<string, string>;
  private readonly open = new Set<{ destroy(): void }>();
  private closing = false;

  constructor(
    sdk: StreamableHTTPClientTransport,
    private readonly target: LeanTarget,
    private readonly retry: ServerRetry,
  ) {
    super(sdk);
    this.sdk = sdk;
    this.lean = sdkSupportsLean(sdk);
    this.baseHeaders = postHeaders(target.headers);
  }

  get protocolVersion(): string | undefined {
    return this.sdk.protocolVersion;
  }

  /** Ends the server's session (DELETE), through the SDK. */
  terminateSession(): Promise<void> {
    return this.sdk.terminateSession();
  }

  override send(message: JSONRPCMessage, options?: TransportSendOptions): Promise<void> {
    const plain = this.engaged && this.lean && !this.closing ? plainPost(message, options) : undefined;
    return plain ? this.postLean(plain, options) : this.sdkSend(message, options);
  }

  override async close(): Promise<void> {
    this.closing = true;
    for (const req of this.open) req.destroy();
    this.open.clear();
    return super.close();
  }

  private sdkSend(message: JSONRPCMessage, options: TransportSendOptions | undefined): Promise<void> {
    this.sent.sdk++;
    return this.sdk.send(message, options);
  }

  private async postLean(message: JSONRPCMessage, options: TransportSendOptions | undefined): Promise<void> {
    this.sent.lean++;
    const headers = await this.headersNow();
    const res = await post(this.target.keepAlive, this.target.url, headers, message, options?.requestSignal, this.open).catch((err: unknown) => {
      if (!options?.requestSignal?.aborted && !this.closing) this.onerror?.(err as Error);
      throw err;
    });
    const status = res.statusCode ?? 0;
    // Not run by the upstream: the SDK's own path handles sign-in, step-up and redirects, and sends again.
    if (status === 401 || status === 403 || (status >= 300 && status < 400)) {
      res.resume();
      return this.sdkSend(message, options);
    }
    if (status < 200 || status >= 300) {
      const text = await readText(res).catch(() => '');
      throw this.report(
        options,
        new SdkHttpError(SdkErrorCode.ClientHttpNotImplemented, `Error POSTing to endpoint: ${text}`, { status, statusText: res.statusMessage ?? '', text }),
      );
    }
    if (status === 202 || !('method' in message && 'id' in message)) return void res.resume();
    return this.readAnswer(res, options);
  }

  private async readAnswer(res: IncomingMessage, options: TransportSendOptions | undefined): Promise<void> {
    const type = (res.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
    if (type === 'text/event-stream') return readEvents(res, this.sink(), options, () => this.closing || options?.requestSignal?.aborted === true);
    if (type === 'application/json') {
      const text = await readText(res).catch((err: Error) => {
        throw this.report(options, err);
      });
      let messages: JSONRPCMessage[];
      try {
        messages = parseJsonAnswer(text);
      } catch (err) {
        throw this.report(options, err as Error);
      }
      for (const message of messages) this.onmessage?.(message);
      return;
    }
    res.resume();
    throw this.report(
      options,
      new SdkError(SdkErrorCode.ClientHttpUnexpectedContent, `Unexpected content type: ${res.headers['content-type']}`, {
        contentType: res.headers['content-type'],
      }),
    );
  }

  /** The headers the SDK would send now (token, session, version), then the caller's. */
  private async headersNow(): Promise<Record<string, string>> {
    const headers = { ...this.baseHeaders };
    const token = this.target.auth ? await this.target.auth.token() : undefined;
    if (token) headers.authorization = `Bearer ${token}`;
    if (this.sdk.sessionId) headers['mcp-session-id'] = this.sdk.sessionId;
    if (this.sdk.protocolVersion) headers['mcp-protocol-version'] = this.sdk.protocolVersion;
    // Last, as on the SDK's path (where identityFetch adds them to what the transport built).
    Object.assign(headers, callerHeaders(this.target.identityHeaders));
    return headers;
  }

  private sink(): StreamSink {
    return {
      message: (message) => this.onmessage?.(message),
      error: (err) => this.onerror?.(err),
      retry: (ms) => (this.retry.ms = ms),
      resume: (options) => (this.sdk as unknown as SdkInternals)._scheduleReconnection(options, 0),
    };
  }

  private report(options: TransportSendOptions | undefined, err: Error): Error {
    if (!options?.requestSignal?.aborted) this.onerror?.(err);
    return err;
  }
}

/** The message, when it is a single 2025-era one with nothing only the SDK's path knows how to send. */
function plainPost(message: JSONRPCMessage, options: TransportSendOptions | undefined): JSONRPCMessage | undefined {
  if (Array.isArray(message) || options?.resumptionToken || options?.headers) return undefined;
  if (isInitialize(message)) return undefined;
  const meta = 'params' in message ? (message.params as { _meta?: Record<string, unknown> } | undefined)?._meta : undefined;
  return meta?.[PROTOCOL_VERSION_META_KEY] === undefined ? message : undefined;
}

/** The configured headers, lower-cased, with what every POST sends: JSON, accepting JSON and SSE answers. */
function postHeaders(configured: Record<string, string>): Record<string, string> {
  const headers = Object.fromEntries(Object.entries(configured).map(([name, value]) => [name.toLowerCase(), value]));
  headers.accept = acceptBoth(headers.accept);
  headers['content-type'] = 'application/json';
  return headers;
}

function acceptBoth(configured: string | undefined): string {
  const types = [...(configured?.split(',').map((s) => s.trim().toLowerCase()) ?? []), 'application/json', 'text/event-stream'];
  return [...new Set(types.filter(Boolean))].join(', ');
}
