/**
 * One upstream MCP server: its state machine (connecting → ready → down →
 * connecting …, or disabled), its current connection (connection.ts) and its
 * drained lists (lists.ts). It never imports upward: it reports through
 * events, and server-to-client requests are handed to the origin of the call
 * in flight (an interface the downstream side implements, origins.ts).
 */
import { EventEmitter } from 'node:events';
import type { AuthProvider, Implementation, Notification, Result, ServerCapabilities } from '@modelcontextprotocol/client';
import type { ServerConfig } from '../config/schema/index.js';
import { upstreamUnavailable } from '../core/errors.js';
import type { Logger } from '../observability/log.js';
import { Backoff } from './backoff.js';
import { UpstreamCaches } from './caches.js';
import { UpstreamConnection, type ConnectionHooks, type ConnectionSettings, type RequestOptions } from './connection.js';
import { classifyError, describe, type UpstreamErrorClass } from './errors.js';
import { emptyLists, fetchLists, LIST_KINDS, ListRefresher, type ListKind, type UpstreamLists } from './lists.js';
import { paramHeaders } from './param-headers.js';
import { CallsInFlight, type CallOrigin } from './origins.js';
import type { ConnectedClient } from './transport/connect.js';

// The types of Upstream's own API (its events, fields and request options), for its users.
export type { CallOrigin } from './origins.js';
export type { ListKind, UpstreamLists } from './lists.js';
export type { RequestOptions } from './connection.js';
export { classifyError, type UpstreamErrorClass } from './errors.js';

export type UpstreamState = 'connecting' | 'ready' | 'down' | 'disabled';
export type ProtocolEra = 'legacy' | 'modern';

export interface UpstreamOptions {
  /**
   * The session (or `caller:<principal>`) this connection was opened for,
   * when it is one's own: it then never reconnects by itself (the next call
   * opens a fresh one) and its unsolicited messages belong to that owner.
   */
  owner?: string;
  /** The hard cap on one request, even while progress keeps resetting its timeout. */
  maxTotalTimeoutMs?: number;
  connectTimeoutMs?: number;
  /** A connection that acts as one caller: their credential, and their own lists of what the upstream offers them. */
  asCaller?: AuthProvider;
  /** The gateway's OAuth providers and keep-alive sockets (a fresh set when not given: tests). */
  caches?: UpstreamCaches;
}

interface UpstreamEvents {
  state: [state: UpstreamState, error?: string];
  lists: [kinds: ListKind[]];
  /** An unsolicited notification (log message, resource update, …) and the origins in flight. */
  notification: [notification: Notification, origins: CallOrigin[]];
  /** A stdio server's stderr line was cut at its bounded length (it writes without line ends). */
  stderrTruncated: [];
}

export class Upstream extends EventEmitter<UpstreamEvents> {
  state: UpstreamState = 'down';
  /** When `state` last changed (ms since the epoch): /readyz and the console say since when. */
  stateSince = Date.now();
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
  readonly owner?: string;
  readonly caches: UpstreamCaches;

  private connection?: UpstreamConnection;
  private stopping = false;
  private readonly backoff = new Backoff();
  private reconnectTimer?: NodeJS.Timeout;
  private readonly settings: ConnectionSettings;
  private readonly hooks: ConnectionHooks;
  private readonly refresher = new ListRefresher(
    (kind) => this.refreshList(kind),
    () => this.stopping,
  );

  constructor(
    readonly config: ServerConfig,
    private readonly log: Logger,
    options: UpstreamOptions = {},
  ) {
    super();
    this.owner = options.owner;
    this.caches = options.caches ?? new UpstreamCaches();
    this.id = this.owner === undefined ? config.name : `${config.name}@${this.owner}`;
    if (!config.enabled) this.state = 'disabled';
    this.settings = {
      config,
      log,
      caches: this.caches,
      inflight: new CallsInFlight(),
      connectTimeoutMs: options.connectTimeoutMs ?? 30_000,
      maxTotalTimeoutMs: options.maxTotalTimeoutMs ?? 600_000,
      asCaller: options.asCaller,
    };
    this.hooks = this.connectionHooks();
  }

  /** A connection of one session's or caller's own to this server, with its limits and the gateway's caches. */
  ownedBy(owner: string, log: Logger, asCaller?: AuthProvider): Upstream {
    return new Upstream(this.config, log, { owner, maxTotalTimeoutMs: this.maxRequestMs, asCaller, caches: this.caches });
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
    return this.owner === undefined || this.settings.asCaller !== undefined;
  }

  get maxRequestMs(): number {
    return this.settings.maxTotalTimeoutMs;
  }

  get name(): string {
    return this.config.name;
  }

  get pid(): number | undefined {
    return this.connection?.pid;
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
    const connection = this.connection;
    this.connection = undefined;
    await connection?.close();
    if (this.state !== 'disabled') this.setState('down', 'stopped');
  }

  /** Forwards one request verbatim and returns the upstream's raw result. */
  async request(method: string, params: Record<string, unknown> | undefined, options: RequestOptions = {}): Promise<Result> {
    if (this.perCaller && this.settings.asCaller === undefined)
      throw upstreamUnavailable(this.name, "this server is reached through each caller's own connection");
    const connection = this.connection;
    if (!connection || this.state !== 'ready') throw upstreamUnavailable(this.name, this.errorClass ?? this.state);
    const headers = method === 'tools/call' && this.era === 'modern' ? this.paramHeadersFor(params) : undefined;
    return connection.request(method, params, headers ? { ...options, headers } : options);
  }

  /** The Mcp-Param-* headers a call of one of this upstream's tools must carry (from its own definition). */
  private paramHeadersFor(params: Record<string, unknown> | undefined): Record<string, string> | undefined {
    const tool = this.lists.tools.find((t) => t.name === params?.name);
    return tool ? paramHeaders(tool.inputSchema, params?.arguments) : undefined;
  }

  async notify(notification: Notification): Promise<void> {
    if (this.state === 'ready') await this.connection?.notify(notification);
  }

  /** Connects once (a session's own connection); rejects if that fails. */
  async open(): Promise<void> {
    await this.connect();
    if (this.state !== 'ready') throw upstreamUnavailable(this.name, this.errorClass ?? this.state);
  }

  private async connect(): Promise<void> {
    this.setState('connecting');
    try {
      const connection = await UpstreamConnection.open(this.settings, this.hooks);
      if (this.stopping) return void (await connection.close());
      this.connection = connection;
      this.describeConnection(connection);
      if (this.era === 'modern' && this.owner === undefined) await connection.listen();
      // A session's own connection serves calls only; the catalog comes from the shared one.
      if (this.keepsLists) this.lists = await fetchLists(connection.client, LIST_KINDS, this.lists);
      this.backoff.reset();
      this.setState('ready');
      this.emit('lists', LIST_KINDS);
    } catch (err) {
      this.lastError = describe(err);
      this.errorClass = classifyError(err);
      this.log.warn('upstream failed to connect', { server: this.name, error: this.lastError, errorClass: this.errorClass });
      const connection = this.connection;
      this.connection = undefined;
      await connection?.close();
      this.setState('down', this.lastError);
      this.scheduleReconnect();
    }
  }

  /** What the handshake told about the server. */
  private describeConnection(connection: UpstreamConnection): void {
    const { client, wire } = connection.connected;
    this.wire = wire;
    this.capabilities = client.getServerCapabilities() ?? {};
    this.serverInfo = client.getServerVersion();
    this.instructions = client.getInstructions();
    this.era = client.getProtocolEra();
  }

  private connectionHooks(): ConnectionHooks {
    return {
      closed: (connection) => this.onDisconnected(connection),
      lost: (connection, reason) => this.onDisconnected(connection, reason),
      listChanged: (kind) => {
        if (this.keepsLists) this.refresher.soon(kind);
      },
      notification: (notification, origins) => void this.emit('notification', notification, origins),
      stderr: (line) => this.log.debug('upstream stderr', { line }),
      stderrTruncated: () => void this.emit('stderrTruncated'),
    };
  }

  private onDisconnected(connection: UpstreamConnection, reason = 'connection closed'): void {
    if (this.connection !== connection) return;
    this.connection = undefined;
    this.lists = emptyLists();
    connection.drop();
    if (this.stopping) return;
    this.restarts++;
    this.lastError = reason;
    this.errorClass = 'disconnected';
    this.log.warn('upstream disconnected', { server: this.name, reason });
    this.setState('down', this.lastError);
    if (this.owner === undefined) this.emit('lists', LIST_KINDS);
    this.scheduleReconnect();
  }

  private scheduleReconnect(): void {
    if (this.stopping || this.owner !== undefined) return;
    const delay = this.backoff.next();
    this.log.info('upstream reconnect scheduled', { server: this.name, inMs: delay });
    this.reconnectTimer = setTimeout(() => void this.connect(), delay);
    this.reconnectTimer.unref();
  }

  /** Lists `kind` afresh (resources/list_changed covers the templates too) and tells the catalog. */
  private async refreshList(kind: ListKind): Promise<void> {
    const client = this.connection?.client;
    if (!client) return;
    try {
      const kinds: ListKind[] = kind === 'resources' ? ['resources', 'resourceTemplates'] : [kind];
      const fresh = await fetchLists(client, kinds, this.lists);
      // Reconnected meanwhile: the new connection listed everything afresh.
      if (this.connection?.client !== client) return;
      for (const k of kinds) (this.lists as unknown as Record<ListKind, unknown[]>)[k] = fresh[k];
      this.emit('lists', kinds);
    } catch (err) {
      this.log.warn('upstream list refresh failed', { server: this.name, kind, error: describe(err) });
    }
  }

  private setState(state: UpstreamState, error?: string): void {
    if (this.state === state && state !== 'down') return;
    if (this.state !== state) this.stateSince = Date.now();
    this.state = state;
    this.emit('state', state, error);
  }
}
