/**
 * One upstream MCP server: its connection, its state machine
 * (connecting → ready → down → connecting …, or disabled), its drained lists
 * and the requests forwarded to it. It never imports upward: it reports
 * through events, and server-to-client requests are handed to the origin of
 * the call in flight (an interface the downstream side implements).
 */
import { EventEmitter } from 'node:events';
import { setTimeout as delay } from 'node:timers/promises';
import {
  Client,
  ProtocolError,
  SdkError,
  SdkErrorCode,
  isInputRequiredResult,
  LOG_LEVEL_META_KEY,
  withInputRequired,
  type AuthProvider,
  type ClientCapabilities,
  type InputRequiredResult,
  type Implementation,
  type JSONRPCRequest,
  type Notification,
  type Prompt,
  type Resource,
  type ResourceTemplateType,
  type Result,
  type ServerCapabilities,
  type Tool,
} from '@modelcontextprotocol/client';
import { z } from 'zod';
import type { ServerConfig } from '../config/schema.js';
import { GatewayError, upstreamTimeout, upstreamUnavailable } from '../core/errors.js';
import type { Logger } from '../observability/log.js';
import { connectUpstream, disconnectUpstream, isConnectionLost, isStreamEnded, type ConnectedClient } from './transports.js';
import { Backoff } from './backoff.js';
import { asCaller, type Caller } from './identity.js';
import { ModernListener } from './listen.js';

export type UpstreamState = 'connecting' | 'ready' | 'down' | 'disabled';
export type ProtocolEra = 'legacy' | 'modern';
export type ListKind = 'tools' | 'resources' | 'resourceTemplates' | 'prompts';

/** Who caused a forwarded request: where server-to-client traffic for it goes. */
export interface CallOrigin {
  readonly sessionId: string;
  /** The downstream client's declared capabilities. */
  readonly clientCapabilities: ClientCapabilities | undefined;
  /** Sends a request to the downstream client, related to the call in flight. */
  send(request: { method: string; params?: Record<string, unknown> }, signal: AbortSignal): Promise<Result>;
  /** Sends a notification to the downstream client, related to the call in flight. */
  notify(notification: Notification): Promise<void>;
}

export interface UpstreamLists {
  tools: Tool[];
  resources: Resource[];
  resourceTemplates: ResourceTemplateType[];
  prompts: Prompt[];
}

export interface RequestOptions {
  signal?: AbortSignal;
  /** The caller's log level: a 2026-07-28 upstream logs only when a request carries one. */
  logLevel?: string;
  /** Who is calling, for upstreams configured with identityHeaders (never their credential). */
  caller?: Caller;
  origin?: CallOrigin;
  onprogress?: (progress: { progress: number; total?: number; message?: string }) => void;
}

interface UpstreamEvents {
  state: [state: UpstreamState, error?: string];
  lists: [kinds: ListKind[]];
  /** An unsolicited notification (log message, resource update, …) and the origins in flight. */
  notification: [notification: Notification, origins: CallOrigin[]];
  /** A stdio server's stderr line was cut at its bounded length (it writes without line ends). */
  stderrTruncated: [];
}

const Loose = z.looseObject({});
const MaybeInputRequired = withInputRequired(Loose);
const MAX_INPUT_ROUNDS = 8;
const SERVER_REQUESTS = ['sampling/createMessage', 'elicitation/create', 'roots/list'] as const;
const LIST_METHODS: Record<ListKind, { method: string; key: string; capability: keyof ServerCapabilities }> = {
  tools: { method: 'tools/list', key: 'tools', capability: 'tools' },
  resources: { method: 'resources/list', key: 'resources', capability: 'resources' },
  resourceTemplates: { method: 'resources/templates/list', key: 'resourceTemplates', capability: 'resources' },
  prompts: { method: 'prompts/list', key: 'prompts', capability: 'prompts' },
};
const MAX_LIST_PAGES = 100;
/**
 * A list refresh waits this long after a list_changed, so that the rest of a
 * burst (which arrives over a few reads) is covered by the same re-list; also
 * the least time between two re-lists of a server that never stops announcing.
 */
const LIST_REFRESH_DELAY_MS = 25;

export class Upstream extends EventEmitter<UpstreamEvents> {
  state: UpstreamState = 'down';
  /** The last failure in full, for the log and the operator's CLI; it may hold the child's stderr, so it is never published. */
  lastError?: string;
  /** The last failure as a bounded class: what /readyz and clients are told. */
  errorClass?: UpstreamErrorClass;
  restarts = 0;
  lists: UpstreamLists = emptyLists();
  capabilities: ServerCapabilities = {};
  serverInfo?: Implementation;
  instructions?: string;
  wire?: ConnectedClient['wire'];
  era?: ProtocolEra;
  /** Unique per connection: subscriptions are counted per connection. */
  readonly id: string;

  private connected?: ConnectedClient;
  private listener?: ModernListener;
  private stopping = false;
  private readonly backoff = new Backoff();
  private reconnectTimer?: NodeJS.Timeout;
  private readonly inflight = new Map<number, CallOrigin>();
  private nextCallId = 0;
  /** The list refresh running per kind, and whether another change was announced while it ran. */
  private readonly refreshes = new Map<ListKind, { again: boolean }>();

  /**
   * @param owner the session this connection was opened for, when it is one
   *   session's own: it then never reconnects by itself (the next call opens a
   *   fresh one) and its unsolicited messages belong to that session.
   */
  constructor(
    readonly config: ServerConfig,
    private readonly log: Logger,
    readonly owner?: string,
    /** The hard cap on one request, even while progress keeps resetting its timeout. */
    private readonly maxTotalTimeoutMs = 600_000,
    private readonly connectTimeoutMs = 30_000,
    /** A connection that acts as one caller: their credential, and their own lists of what the upstream offers them. */
    private readonly asCallerWith?: AuthProvider,
  ) {
    super();
    this.id = owner === undefined ? config.name : `${config.name}@${owner}`;
    if (!config.enabled) this.state = 'disabled';
  }

  /**
   * A server that acts as each caller (credentials "user-oauth" or
   * "token-exchange") has no connection of its own: every call goes out on
   * a caller's connection, and its catalog is per caller.
   */
  get perCaller(): boolean {
    return this.config.credentials !== 'static';
  }

  /** Lists are kept for the shared connection, and for a caller's own (their personal catalog). */
  private get keepsLists(): boolean {
    return this.owner === undefined || this.asCallerWith !== undefined;
  }

  get maxRequestMs(): number {
    return this.maxTotalTimeoutMs;
  }

  get name(): string {
    return this.config.name;
  }

  get pid(): number | undefined {
    const transport = this.connected?.transport as { pid?: number } | undefined;
    return transport?.pid;
  }

  /** Connects, and keeps reconnecting with backoff until stopped. */
  start(): void {
    if (this.state === 'disabled' || this.stopping) return;
    // Nothing to connect as: callers' connections are opened on their first call.
    if (this.perCaller && this.owner === undefined) return this.setState('ready');
    void this.connect();
  }

  async stop(): Promise<void> {
    this.stopping = true;
    clearTimeout(this.reconnectTimer);
    const connected = this.connected;
    this.connected = undefined;
    await this.listener?.close();
    this.listener = undefined;
    if (connected) await disconnectUpstream(connected);
    if (this.state !== 'disabled') this.setState('down', 'stopped');
  }

  /** Forwards one request verbatim and returns the upstream's raw result. */
  async request(method: string, params: Record<string, unknown> | undefined, options: RequestOptions = {}): Promise<Result> {
    if (this.perCaller && this.asCallerWith === undefined) throw upstreamUnavailable(this.name, 'this server is reached through each caller\'s own connection');
    const client = this.connected?.client;
    if (!client || this.state !== 'ready') throw upstreamUnavailable(this.name, this.errorClass ?? this.state);
    if (this.listener) {
      const answered = await this.answerForModern(this.listener, method, params);
      if (answered) return answered;
      params = withLogLevel(params, options.logLevel);
    }
    const callId = this.nextCallId++;
    if (options.origin) this.inflight.set(callId, options.origin);
    try {
      let current = params;
      for (let round = 0; ; round++) {
        const result = await asCaller(options.caller, () => client.request({ method, params: current } as { method: 'tools/call' }, MaybeInputRequired, {
          signal: options.signal,
          onprogress: options.onprogress,
          timeout: this.config.timeoutMs,
          resetTimeoutOnProgress: true,
          maxTotalTimeout: Math.max(this.config.timeoutMs, this.maxTotalTimeoutMs),
          allowInputRequired: true,
        }));
        if (!isInputRequiredResult(result)) return result as Result;
        if (round >= MAX_INPUT_ROUNDS) throw upstreamUnavailable(this.name, `no complete result after ${MAX_INPUT_ROUNDS} input rounds`);
        current = { ...params, ...(await this.fulfil(result, options)) };
      }
    } catch (err) {
      if (isConnectionLost(err, this.connected) && this.connected) this.onDisconnected(this.connected, describe(err));
      throw this.translateError(err, options.signal);
    } finally {
      this.inflight.delete(callId);
    }
  }

  /**
   * What a 2026-07-28 upstream has no method for, the gateway answers itself:
   * subscriptions become the filter of its listen stream, and the log level
   * travels with each request instead of being set once.
   */
  private async answerForModern(listener: ModernListener, method: string, params: Record<string, unknown> | undefined): Promise<Result | undefined> {
    const uri = typeof params?.uri === 'string' ? params.uri : '';
    switch (method) {
      case 'resources/subscribe':
        await listener.subscribe(uri);
        return {};
      case 'resources/unsubscribe':
        await listener.unsubscribe(uri);
        return {};
      case 'logging/setLevel':
        return {};
      default:
        return undefined;
    }
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
      if (!origin) throw upstreamUnavailable(this.name, `it asked for ${request.method} outside a client request`);
      inputResponses[key] = await origin.send({ method: request.method, params: request.params as Record<string, unknown> }, signal);
    }
    return result.requestState === undefined ? { inputResponses } : { inputResponses, requestState: result.requestState };
  }

  async notify(notification: Notification): Promise<void> {
    if (this.state === 'ready') await this.connected?.client.notification(notification).catch(() => {});
  }

  private async connect(): Promise<void> {
    this.setState('connecting');
    try {
      const connected = await connectUpstream({
        config: this.config,
        makeClient: (negotiate) => this.makeClient(negotiate),
        auth: this.asCallerWith,
        // Not the request timeout: a slow-starting server is not a hung call.
        timeoutMs: this.connectTimeoutMs,
        onStderr: (line) => this.log.debug('upstream stderr', { line }),
        onStderrTruncated: () => this.emit('stderrTruncated'),
      });
      if (this.stopping) return void (await disconnectUpstream(connected));
      this.connected = connected;
      this.wire = connected.wire;
      this.capabilities = connected.client.getServerCapabilities() ?? {};
      this.serverInfo = connected.client.getServerVersion();
      this.instructions = connected.client.getInstructions();
      this.era = connected.client.getProtocolEra();
      connected.client.onclose = () => this.onDisconnected(connected);
      if (this.era === 'modern' && this.owner === undefined) {
        this.listener = new ModernListener(connected.client, this.capabilities, this.log);
        await this.listener.start();
      }
      // A session's own connection serves calls only; the catalog comes from the shared one.
      if (this.keepsLists) this.lists = await this.fetchLists(connected.client, Object.keys(LIST_METHODS) as ListKind[]);
      this.backoff.reset();
      this.setState('ready');
      this.emit('lists', Object.keys(LIST_METHODS) as ListKind[]);
    } catch (err) {
      this.lastError = describe(err);
      this.errorClass = classifyError(err);
      this.log.warn('upstream failed to connect', { server: this.name, error: this.lastError, errorClass: this.errorClass });
      const connected = this.connected;
      this.connected = undefined;
      if (connected) await disconnectUpstream(connected);
      this.setState('down', this.lastError);
      this.scheduleReconnect();
    }
  }

  /** Connects once (a session's own connection); rejects if that fails. */
  async open(): Promise<void> {
    await this.connect();
    if (this.state !== 'ready') throw upstreamUnavailable(this.name, this.errorClass ?? this.state);
  }

  private onDisconnected(connected: ConnectedClient, reason = 'connection closed'): void {
    if (this.connected !== connected) return;
    this.connected = undefined;
    void this.listener?.close();
    this.listener = undefined;
    this.lists = emptyLists();
    void disconnectUpstream(connected);
    if (this.stopping) return;
    this.restarts++;
    this.lastError = reason;
    this.errorClass = 'disconnected';
    this.log.warn('upstream disconnected', { server: this.name, reason });
    this.setState('down', this.lastError);
    if (this.owner === undefined) this.emit('lists', Object.keys(LIST_METHODS) as ListKind[]);
    this.scheduleReconnect();
  }

  private scheduleReconnect(): void {
    if (this.stopping || this.owner !== undefined) return;
    const delay = this.backoff.next();
    this.log.info('upstream reconnect scheduled', { server: this.name, inMs: delay });
    this.reconnectTimer = setTimeout(() => void this.connect(), delay);
    this.reconnectTimer.unref();
  }

  private makeClient(negotiate: boolean): Client {
    const client = new Client(
      { name: 'switchboard', version: '0.1.0' },
      {
        // Declared so upstreams expose their sampling/elicitation/roots tools;
        // a downstream client without the capability gets a clear error.
        capabilities: { sampling: {}, elicitation: { form: {}, url: {} }, roots: { listChanged: true } },
        versionNegotiation: negotiate ? { mode: 'auto' } : undefined,
        // Input requests are fulfilled by the call's own origin (see fulfil()).
        inputRequired: { autoFulfill: false },
      },
    );
    for (const method of SERVER_REQUESTS) {
      client.setRequestHandler(method, ((request: JSONRPCRequest, ctx: { mcpReq: { signal: AbortSignal } }) =>
        this.routeServerRequest(request, ctx.mcpReq.signal)) as never);
    }
    // One handler per method: resources/list_changed refreshes the templates too (see refreshList).
    for (const kind of ['tools', 'resources', 'prompts'] as const) {
      client.setNotificationHandler(`notifications/${kind}/list_changed` as 'notifications/tools/list_changed', () => {
        if (this.keepsLists) this.refreshSoon(kind);
      });
    }
    client.fallbackNotificationHandler = async (notification) => {
      this.emit('notification', notification, [...new Set(this.inflight.values())]);
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
  private async routeServerRequest(request: JSONRPCRequest, signal: AbortSignal): Promise<Result> {
    const sessions = new Map<string, CallOrigin>();
    for (const origin of this.inflight.values()) sessions.set(origin.sessionId, origin);
    if (sessions.size === 1) {
      const [origin] = sessions.values();
      return origin!.send({ method: request.method, params: request.params }, signal);
    }
    if (sessions.size === 0 && request.method === 'roots/list') return { roots: [] };
    const why = sessions.size === 0 ? 'no call is in flight on this upstream' : 'calls from several sessions are in flight on this shared upstream';
    const fix = `set gateway.servers.${this.name}.isolation to "session"`;
    throw protocolError(
      new GatewayError('REQUEST_NOT_ATTRIBUTABLE', `Switchboard cannot route ${request.method}: ${why}${sessions.size > 1 ? `; ${fix}` : ''}`, {
        server: this.name,
        fix,
      }),
    );
  }

  /**
   * A burst of list_changed costs at most one refresh in flight and one more
   * after it, per kind: the one after starts once the current ends, so it
   * sees every change announced meanwhile (2,000 notifications used to mean
   * 2,000 full re-lists, all at once). Each starts LIST_REFRESH_DELAY_MS after
   * it was asked for.
   */
  private refreshSoon(kind: ListKind): void {
    const running = this.refreshes.get(kind);
    if (running) return void (running.again = true);
    const mine = { again: false };
    this.refreshes.set(kind, mine);
    void (async () => {
      try {
        do {
          await delay(LIST_REFRESH_DELAY_MS, undefined, { ref: false });
          mine.again = false;
          await this.refreshList(kind);
        } while (mine.again && !this.stopping);
      } finally {
        this.refreshes.delete(kind);
      }
    })();
  }

  private async refreshList(kind: ListKind): Promise<void> {
    const client = this.connected?.client;
    if (!client) return;
    try {
      const kinds: ListKind[] = kind === 'resources' ? ['resources', 'resourceTemplates'] : [kind];
      const fresh = await this.fetchLists(client, kinds);
      // Reconnected meanwhile: the new connection listed everything afresh.
      if (this.connected?.client !== client) return;
      for (const k of kinds) (this.lists as unknown as Record<ListKind, unknown[]>)[k] = fresh[k];
      this.emit('lists', kinds);
    } catch (err) {
      this.log.warn('upstream list refresh failed', { server: this.name, kind, error: describe(err) });
    }
  }

  private async fetchLists(client: Client, kinds: ListKind[]): Promise<UpstreamLists> {
    const lists = { ...this.lists };
    const caps = client.getServerCapabilities() ?? {};
    await Promise.all(
      kinds.map(async (kind) => {
        const { method, key, capability } = LIST_METHODS[kind];
        (lists as unknown as Record<ListKind, unknown[]>)[kind] = caps[capability] ? await drain(client, method, key) : [];
      }),
    );
    return lists;
  }

  private translateError(err: unknown, signal: AbortSignal | undefined): unknown {
    if (isStreamEnded(err)) return upstreamUnavailable(this.name, 'the connection closed before the upstream answered');
    if (err instanceof ProtocolError || err instanceof GatewayError) return err;
    if (signal?.aborted && signal.reason instanceof GatewayError) return signal.reason;
    if (err instanceof SdkError) {
      if (signal?.aborted) return err;
      if (err.code === SdkErrorCode.RequestTimeout) return upstreamTimeout(this.name, this.config.timeoutMs);
      return upstreamUnavailable(this.name, err.message);
    }
    return upstreamUnavailable(this.name, describe(err));
  }

  private setState(state: UpstreamState, error?: string): void {
    if (this.state === state && state !== 'down') return;
    this.state = state;
    this.emit('state', state, error);
  }
}

async function drain(client: Client, method: string, key: string): Promise<unknown[]> {
  const items: unknown[] = [];
  let cursor: string | undefined;
  for (let page = 0; page < MAX_LIST_PAGES; page++) {
    const result = (await client.request({ method, params: cursor ? { cursor } : {} } as { method: 'tools/list' }, Loose)) as Record<string, unknown>;
    const batch = result[key];
    if (Array.isArray(batch)) items.push(...batch);
    cursor = typeof result.nextCursor === 'string' && result.nextCursor ? result.nextCursor : undefined;
    if (!cursor) break;
  }
  return items;
}

function withLogLevel(params: Record<string, unknown> | undefined, level: string | undefined): Record<string, unknown> | undefined {
  if (level === undefined) return params;
  const meta = (params?._meta ?? {}) as Record<string, unknown>;
  return { ...params, _meta: { ...meta, [LOG_LEVEL_META_KEY]: level } };
}

function emptyLists(): UpstreamLists {
  return { tools: [], resources: [], resourceTemplates: [], prompts: [] };
}

function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Bounded, publishable kinds of failure (the message itself may quote a child's stderr or a URL with a token). */
export type UpstreamErrorClass = 'spawn-failed' | 'unreachable' | 'timeout' | 'unauthorized' | 'disconnected' | 'connect-failed';

/** The class of a connect failure, read from the error's code and message; `connect-failed` when nothing more is known. */
export function classifyError(err: unknown): UpstreamErrorClass {
  const code = (err as { code?: unknown; cause?: { code?: unknown } } | undefined)?.code ?? (err as { cause?: { code?: unknown } } | undefined)?.cause?.code;
  const message = describe(err).split('; stderr:')[0] ?? '';
  if (code === 'ENOENT' || code === 'EACCES' || /\bspawn\b/.test(message)) return 'spawn-failed';
  if (/ECONNREFUSED|ENOTFOUND|EHOSTUNREACH|ECONNRESET|EAI_AGAIN|fetch failed/.test(`${String(code)} ${message}`)) return 'unreachable';
  if (/timed? ?out|timeout/i.test(message)) return 'timeout';
  if (/\b(401|403)\b|unauthori[sz]ed|forbidden|login|sign[- ]in/i.test(message)) return 'unauthorized';
  if (/closed|exited|ended/i.test(message)) return 'disconnected';
  return 'connect-failed';
}

/** Our answer to an upstream's request, in the SDK client's error form (its JSON-RPC code and data). */
function protocolError(err: GatewayError): ProtocolError {
  const wire = err.toJsonRpcError();
  return new ProtocolError(wire.code, wire.message, wire.data);
}
