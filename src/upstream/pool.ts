/**
 * Which connection a call uses. Shared by default; a session gets its own
 * upstream connection where sharing would make server-to-client traffic
 * ambiguous and a connection is cheap (a 2025-era HTTP/SSE upstream: the
 * remote server holds the session), or where the operator asked for it
 * (`isolation: "session"`, one child process per session, bounded by
 * `maxProcesses`). 2026-07-28 upstreams are always shared: their input
 * requests come back inside the call's own result.
 */
import type { AuthProvider } from '@modelcontextprotocol/client';
import { LRUCache } from 'lru-cache';
import { GatewayError } from '../errors.js';
import type { Logger } from '../observability/log.js';
import { Upstream } from './upstream.js';

export interface SessionRef {
  id: string;
  era: 'legacy' | 'modern';
  transport: 'streamable-http' | 'sse' | 'stdio';
}

/** A caller's own credential for a server that acts as its callers (undefined: none configured). */
export type CallerAuthFactory = (config: Upstream['config'], principal: string) => AuthProvider | undefined;

/** Callers' own connections kept open at most, and how long one may sit idle. */
const MAX_CALLER_CONNECTIONS = 1_000;
const CALLER_IDLE_MS = 30 * 60_000;

export class ConnectionPool {
  /** session id → server name → that session's own connection (or the pending open). */
  private readonly perSession = new Map<string, Map<string, Promise<Upstream>>>();
  /** principal + server → that caller's own connection, for servers that act as their callers. */
  private readonly perCaller = new LRUCache<string, Promise<Upstream>>({
    max: MAX_CALLER_CONNECTIONS,
    ttl: CALLER_IDLE_MS,
    updateAgeOnGet: true,
    dispose: (pending) => void pending.then((c) => c.stop(), () => {}),
  });

  constructor(
    private readonly log: Logger,
    /** Wires a new session-bound connection's events (set by app.ts). */
    private readonly onOpened: (connection: Upstream) => void = () => {},
    private readonly callerAuth: CallerAuthFactory = () => undefined,
  ) {}

  /** The connection this session's call to `shared`'s server must use. */
  acquire(shared: Upstream, session: SessionRef, principal?: string): Promise<Upstream> | Upstream {
    if (shared.perCaller && principal !== undefined && !this.ownedBySession(shared, session)) return this.callerConnection(shared, principal);
    if (!this.needsOwnConnection(shared, session)) return shared;
    let mine = this.perSession.get(session.id);
    if (!mine) this.perSession.set(session.id, (mine = new Map()));
    const existing = mine.get(shared.name);
    if (existing) return existing.then((c) => (c.state === 'ready' ? c : this.reopen(shared, session, principal)));
    return this.open(shared, session, principal);
  }

  /** A caller's own connection to a server that acts as its callers, opened on first use and shared by their sessions. */
  callerConnection(shared: Upstream, principal: string): Promise<Upstream> {
    const key = `${principal}\u0000${shared.name}`;
    const existing = this.perCaller.get(key);
    if (existing) {
      return existing.then(
        (c) => (c.state === 'ready' ? c : this.openForCaller(shared, principal, key)),
        () => this.openForCaller(shared, principal, key),
      );
    }
    return this.openForCaller(shared, principal, key);
  }

  /** The caller's connection to `shared`'s server if one is open (for their personal catalog). */
  openCallerConnection(shared: Upstream, principal: string): Promise<Upstream> | undefined {
    return this.perCaller.get(`${principal}\u0000${shared.name}`);
  }

  /** Closes every session's and caller's own connection to a server (it was removed or changed). */
  dropServer(server: string): void {
    for (const mine of this.perSession.values()) {
      const pending = mine.get(server);
      if (!pending) continue;
      mine.delete(server);
      void pending.then((c) => c.stop(), () => {});
    }
    for (const key of [...this.perCaller.keys()]) if (key.endsWith(`\u0000${server}`)) this.perCaller.delete(key);
  }

  /** Closes a caller's connection (their credential was revoked). */
  dropCaller(principal: string, server: string): void {
    this.perCaller.delete(`${principal}\u0000${server}`);
  }

  private openForCaller(shared: Upstream, principal: string, key: string): Promise<Upstream> {
    const connection = new Upstream(shared.config, this.log.child({ server: shared.name }), `caller:${principal}`, shared.maxRequestMs, undefined, this.callerAuth(shared.config, principal));
    this.onOpened(connection);
    const pending = connection.open().then(
      () => connection,
      async (err: unknown) => {
        if (this.perCaller.get(key) === pending) this.perCaller.delete(key);
        await connection.stop();
        throw err;
      },
    );
    this.perCaller.set(key, pending);
    return pending;
  }

  /** A 2025-era session keeps its own upstream session even for a server that acts as its caller. */
  private ownedBySession(shared: Upstream, session: SessionRef): boolean {
    return session.era === 'legacy' && session.transport !== 'stdio' && shared.era !== 'modern';
  }

  /** The session's own connections, for fan-out (logging/setLevel). */
  async connectionsOf(sessionId: string): Promise<Upstream[]> {
    const mine = this.perSession.get(sessionId);
    if (!mine) return [];
    const settled = await Promise.allSettled(mine.values());
    return settled.flatMap((r) => (r.status === 'fulfilled' && r.value.state === 'ready' ? [r.value] : []));
  }

  /** Closes every connection the session owned (and its child processes). */
  async release(sessionId: string): Promise<void> {
    const mine = this.perSession.get(sessionId);
    if (!mine) return;
    this.perSession.delete(sessionId);
    await Promise.allSettled([...mine.values()].map(async (pending) => (await pending).stop()));
  }

  async closeAll(): Promise<void> {
    const callers = [...this.perCaller.values()];
    this.perCaller.clear();
    await Promise.allSettled([...this.perSession.keys()].map((id) => this.release(id)));
    await Promise.allSettled(callers.map(async (pending) => (await pending).stop()));
  }

  /** Sessions' own connections per server. */
  countsByServer(): Record<string, number> {
    const counts: Record<string, number> = {};
    for (const mine of this.perSession.values()) for (const name of mine.keys()) counts[name] = (counts[name] ?? 0) + 1;
    return counts;
  }

  get openCount(): number {
    let n = 0;
    for (const mine of this.perSession.values()) n += mine.size;
    return n;
  }

  private countOpen(name: string): number {
    let n = 0;
    for (const mine of this.perSession.values()) if (mine.has(name)) n++;
    return n;
  }

  private needsOwnConnection(shared: Upstream, session: SessionRef): boolean {
    // A stateless request has no session to own anything, and a stdio
    // gateway has exactly one session: sharing is exact there.
    if (session.era === 'modern' || session.transport === 'stdio') return false;
    if (shared.config.spec.type === 'stdio') return shared.config.isolation === 'session';
    return shared.era !== 'modern';
  }

  private reopen(shared: Upstream, session: SessionRef, principal?: string): Promise<Upstream> {
    this.perSession.get(session.id)?.delete(shared.name);
    return this.open(shared, session, principal);
  }

  private open(shared: Upstream, session: SessionRef, principal?: string): Promise<Upstream> {
    const name = shared.name;
    const isProcess = shared.config.spec.type === 'stdio';
    if (isProcess && this.countOpen(name) >= shared.config.maxProcesses) {
      throw new GatewayError('UPSTREAM_UNAVAILABLE', `Upstream '${name}' has reached maxProcesses (${shared.config.maxProcesses})`, {
        server: name,
        reason: 'maxProcesses',
        fix: `raise gateway.servers.${name}.maxProcesses or lower gateway.sessionIdleMs`,
      });
    }
    const auth = shared.perCaller && principal !== undefined ? this.callerAuth(shared.config, principal) : undefined;
    const connection = new Upstream(shared.config, this.log.child({ server: name, session: session.id }), session.id, shared.maxRequestMs, undefined, auth);
    this.onOpened(connection);
    const pending = connection.open().then(
      () => connection,
      async (err: unknown) => {
        this.perSession.get(session.id)?.delete(name);
        await connection.stop();
        throw err;
      },
    );
    this.perSession.get(session.id)!.set(name, pending);
    return pending;
  }
}
