/**
 * One live client connection to an upstream and the requests forwarded on
 * it: the SDK client (with the handlers that hand the upstream's own requests
 * to the origin of the call in flight), a 2026-07-28 upstream's listen
 * stream, and the answers the gateway gives for what such an upstream has no
 * method for. Whether and when to connect again is the Upstream's (server.ts):
 * this reports through its hooks.
 */
import {
  Client,
  ProtocolError,
  SdkError,
  SdkErrorCode,
  isInputRequiredResult,
  withInputRequired,
  type AuthProvider,
  type InputRequiredResult,
  type JSONRPCRequest,
  type Notification,
  type Result,
} from '@modelcontextprotocol/client';
import { z } from 'zod';
import type { ServerConfig } from '../config/schema/index.js';
import { GatewayError, upstreamTimeout, upstreamUnavailable } from '../core/errors.js';
import type { Logger } from '../observability/log.js';
import type { UpstreamCaches } from './caches.js';
import { describe, protocolError } from './errors.js';
import { asCaller, type Caller } from './identity.js';
import { ModernListener } from './listen.js';
import { answerForModern, withLogLevel } from './modern-answers.js';
import type { CallOrigin, CallsInFlight } from './origins.js';
import { connectUpstream, disconnectUpstream, isConnectionLost, type ConnectedClient } from './transport/connect.js';
import { isStreamEnded } from './transport/stream-end.js';
import { DirectRequestError } from './transport/direct-requests.js';
import { isTaskMethod, offersTasks, sendDirect, type ClientIdentity } from './tasks.js';

export interface RequestOptions {
  signal?: AbortSignal;
  /** The caller's log level: a 2026-07-28 upstream logs only when a request carries one. */
  logLevel?: string;
  /** Who is calling, for upstreams configured with identityHeaders (never their credential). */
  caller?: Caller;
  origin?: CallOrigin;
  onprogress?: (progress: { progress: number; total?: number; message?: string }) => void;
  /** Headers for this request's HTTP POST only (SEP-2243 Mcp-Param-*); stdio ignores them. */
  headers?: Record<string, string>;
  /** The caller accepts a task for this tools/call (it declared the tasks extension): asked of an upstream that offers them. */
  acceptsTask?: boolean;
}

/** What a connection needs from the Upstream it serves. */
export interface ConnectionSettings {
  config: ServerConfig;
  log: Logger;
  caches: UpstreamCaches;
  inflight: CallsInFlight;
  connectTimeoutMs: number;
  /** The hard cap on one request, even while progress keeps resetting its timeout. */
  maxTotalTimeoutMs: number;
  /** A caller's own credential instead of the server's configured one. */
  asCaller?: AuthProvider;
}

/** How a connection reports to its Upstream (which ignores a connection it has already let go of). */
export interface ConnectionHooks {
  /** The client closed (not by close()). */
  closed(connection: UpstreamConnection): void;
  /** A request failed in a way that shows the connection is gone. */
  lost(connection: UpstreamConnection, reason: string): void;
  listChanged(kind: 'tools' | 'resources' | 'prompts'): void;
  /** An unsolicited notification, and the origins in flight. */
  notification(notification: Notification, origins: CallOrigin[]): void;
  stderr(line: string): void;
  stderrTruncated(): void;
}

const MaybeInputRequired = withInputRequired(z.looseObject({}));
/**
 * Who the gateway is to its upstreams. The capabilities are declared so
 * upstreams expose their sampling/elicitation/roots tools; a downstream
 * client without the capability gets a clear error.
 */
const GATEWAY_CLIENT: ClientIdentity = {
  info: { name: 'switchboard', version: '0.1.0' },
  capabilities: { sampling: {}, elicitation: { form: {}, url: {} }, roots: { listChanged: true } },
};
const MAX_INPUT_ROUNDS = 8;
const SERVER_REQUESTS = ['sampling/createMessage', 'elicitation/create', 'roots/list'] as const;

export class UpstreamConnection {
  private listener?: ModernListener;

  private constructor(
    readonly connected: ConnectedClient,
    private readonly settings: ConnectionSettings,
    private readonly hooks: ConnectionHooks,
  ) {
    connected.client.onclose = () => hooks.closed(this);
  }

  /** Connects (the handshake included); rejects when that fails. */
  static async open(settings: ConnectionSettings, hooks: ConnectionHooks): Promise<UpstreamConnection> {
    const connected = await connectUpstream({
      config: settings.config,
      makeClient: (negotiate) => makeClient(negotiate, settings, hooks),
      caches: settings.caches,
      auth: settings.asCaller,
      // Not the request timeout: a slow-starting server is not a hung call.
      timeoutMs: settings.connectTimeoutMs,
      onStderr: (line) => hooks.stderr(line),
      onStderrTruncated: () => hooks.stderrTruncated(),
    });
    return new UpstreamConnection(connected, settings, hooks);
  }

  get client(): Client {
    return this.connected.client;
  }

  /** The stdio child's process id. */
  get pid(): number | undefined {
    return (this.connected.base as { pid?: number }).pid;
  }

  /** Opens a 2026-07-28 upstream's listen stream (list changes, watched resources). */
  async listen(): Promise<void> {
    this.listener = new ModernListener(this.client, this.client.getServerCapabilities() ?? {}, this.settings.log);
    await this.listener.start();
  }

  /** Forwards one request verbatim and returns the upstream's raw result. */
  async request(method: string, params: Record<string, unknown> | undefined, options: RequestOptions = {}): Promise<Result> {
    if (this.listener) {
      const answered = await answerForModern(this.listener, method, params);
      if (answered) return answered;
      params = withLogLevel(params, options.logLevel);
    }
    const done = options.origin ? this.settings.inflight.add(options.origin) : undefined;
    // What the SDK client cannot carry (the tasks extension) goes past it, on the same wire.
    const direct = isTaskMethod(method) || (options.acceptsTask === true && method === 'tools/call' && offersTasks(this.client));
    try {
      let current = params;
      for (let round = 0; ; round++) {
        const result = await asCaller(options.caller, () => (direct ? this.sendDirect(method, current, options) : this.requestOnce(method, current, options)));
        if (!isInputRequiredResult(result)) return result as Result;
        if (round >= MAX_INPUT_ROUNDS) throw upstreamUnavailable(this.settings.config.name, `no complete result after ${MAX_INPUT_ROUNDS} input rounds`);
        current = { ...params, ...(await this.fulfil(result, options)) };
      }
    } catch (err) {
      if (isConnectionLost(err, this.connected)) this.hooks.lost(this, describe(err));
      throw this.translateError(err, options.signal);
    } finally {
      done?.();
    }
  }

  async notify(notification: Notification): Promise<void> {
    await this.client.notification(notification).catch(() => {});
  }

  /** Closes the listen stream, then the connection (its server session first). */
  async close(): Promise<void> {
    await this.listener?.close();
    await disconnectUpstream(this.connected);
  }

  /** Lets go of a connection that is gone: nothing waits for it to close. */
  drop(): void {
    void this.listener?.close();
    void disconnectUpstream(this.connected);
  }

  private requestOnce(method: string, params: Record<string, unknown> | undefined, options: RequestOptions): Promise<unknown> {
    const { timeoutMs } = this.settings.config;
    return this.client.request({ method, params } as { method: 'tools/call' }, MaybeInputRequired, {
      signal: options.signal,
      onprogress: options.onprogress,
      timeout: timeoutMs,
      resetTimeoutOnProgress: true,
      maxTotalTimeout: Math.max(timeoutMs, this.settings.maxTotalTimeoutMs),
      allowInputRequired: true,
      ...(options.headers ? { headers: options.headers } : {}),
    });
  }

  private sendDirect(method: string, params: Record<string, unknown> | undefined, options: RequestOptions): Promise<Result> {
    const { direct, client } = this.connected;
    const timeoutMs = this.settings.config.timeoutMs;
    return sendDirect(direct, client, GATEWAY_CLIENT, { method, params: params ?? {} }, { signal: options.signal, timeoutMs, headers: options.headers });
  }

  /**
   * A 2026-07-28 upstream asks for input inside the call's own result, so
   * the answer is exact: the requests go to this call's origin, and the call
   * is retried with the responses and the upstream's state echoed verbatim.
   */
  private async fulfil(result: InputRequiredResult, options: RequestOptions): Promise<Record<string, unknown>> {
    const origin = options.origin;
    const signal = options.signal ?? new AbortController().signal;
    const inputResponses: Record<string, unknown> = {};
    for (const [key, request] of Object.entries(result.inputRequests ?? {})) {
      if (!origin) throw upstreamUnavailable(this.settings.config.name, `it asked for ${request.method} outside a client request`);
      inputResponses[key] = await origin.send({ method: request.method, params: request.params as Record<string, unknown> }, signal);
    }
    return result.requestState === undefined ? { inputResponses } : { inputResponses, requestState: result.requestState };
  }

  private translateError(err: unknown, signal: AbortSignal | undefined): unknown {
    const { name, timeoutMs } = this.settings.config;
    if (isStreamEnded(err)) return upstreamUnavailable(name, 'the connection closed before the upstream answered');
    // The upstream refused the gateway's own HTTP headers or version: not the client's fault, and a client that took
    // it for its own (-32020 makes a 2026 client re-list and retry) would send the call twice.
    if (err instanceof ProtocolError && (err.code === HEADER_MISMATCH || err.code === UNSUPPORTED_VERSION))
      return upstreamUnavailable(name, `it refused the gateway's request headers (${err.code}: ${err.message})`);
    if (err instanceof ProtocolError || err instanceof GatewayError) return err;
    if (signal?.aborted && signal.reason instanceof GatewayError) return signal.reason;
    if (err instanceof DirectRequestError) return err.kind === 'timeout' ? upstreamTimeout(name, timeoutMs) : upstreamUnavailable(name, err.message);
    if (err instanceof SdkError) {
      if (signal?.aborted) return err;
      if (err.code === SdkErrorCode.RequestTimeout) return upstreamTimeout(name, timeoutMs);
      return upstreamUnavailable(name, err.message);
    }
    return upstreamUnavailable(name, describe(err));
  }
}

/** SEP-2243 HeaderMismatch and the unsupported-version error, as an upstream answers them. */
const HEADER_MISMATCH = -32020;
const UNSUPPORTED_VERSION = -32022;

/** The SDK client for one connection, with the handlers that route the upstream's own traffic. */
function makeClient(negotiate: boolean, settings: ConnectionSettings, hooks: ConnectionHooks): Client {
  const client = new Client(GATEWAY_CLIENT.info, {
    capabilities: GATEWAY_CLIENT.capabilities,
    versionNegotiation: negotiate ? { mode: 'auto' } : undefined,
    // Input requests are fulfilled by the call's own origin (see fulfil()).
    inputRequired: { autoFulfill: false },
  });
  for (const method of SERVER_REQUESTS) {
    client.setRequestHandler(method, ((request: JSONRPCRequest, ctx: { mcpReq: { signal: AbortSignal } }) =>
      routeServerRequest(request, ctx.mcpReq.signal, settings)) as never);
  }
  // One handler per method: resources/list_changed refreshes the templates too (see server.ts).
  for (const kind of ['tools', 'resources', 'prompts'] as const) {
    client.setNotificationHandler(`notifications/${kind}/list_changed` as 'notifications/tools/list_changed', () => hooks.listChanged(kind));
  }
  client.fallbackNotificationHandler = async (notification) => {
    hooks.notification(notification, settings.inflight.origins());
  };
  for (const method of ['notifications/message', 'notifications/resources/updated', 'notifications/elicitation/complete'] as const) {
    client.setNotificationHandler(method, (n: Notification) => void client.fallbackNotificationHandler?.(n));
  }
  return client;
}

/**
 * A server-to-client request goes to the one session whose call is in
 * flight here. With none, or several, it cannot be attributed safely.
 */
async function routeServerRequest(request: JSONRPCRequest, signal: AbortSignal, settings: ConnectionSettings): Promise<Result> {
  const sessions = settings.inflight.bySession();
  if (sessions.size === 1) {
    const [origin] = sessions.values();
    return origin!.send({ method: request.method, params: request.params }, signal);
  }
  if (sessions.size === 0 && request.method === 'roots/list') return { roots: [] };
  const name = settings.config.name;
  const why = sessions.size === 0 ? 'no call is in flight on this upstream' : 'calls from several sessions are in flight on this shared upstream';
  const fix = `set gateway.servers.${name}.isolation to "session"`;
  throw protocolError(
    new GatewayError('REQUEST_NOT_ATTRIBUTABLE', `Switchboard cannot route ${request.method}: ${why}${sessions.size > 1 ? `; ${fix}` : ''}`, {
      server: name,
      fix,
    }),
  );
}
