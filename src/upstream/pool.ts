/**
 * Which connection a call uses. Shared by default; a session gets its own
 * upstream connection where sharing would make server-to-client traffic
 * ambiguous and a connection is cheap (a 2025-era HTTP/SSE upstream: the
 * remote server holds the session), or where the operator asked for it
 * (`isolation: "session"`, one child process per session, bounded by
 * `maxProcesses`). 2026-07-28 upstreams are always shared: their input
 * requests come back inside the call's own result.
 *
 * At `maxProcesses`, idle sessions must not lock everyone else out: the
 * fair-share rule (fair-share.ts) stops one idle session's child, the
 * heaviest principal's least recently used, and only another principal's
 * if it holds at least two more children of that server than the caller.
 * A child is idle when its session has no call in flight (asked through
 * `sessionBusy`). The session that lost it gets a fresh child on its next
 * call, reclaimed the same way, or UPSTREAM_UNAVAILABLE (maxProcesses) when
 * none can be: the old child's own state is gone either way.
 */
import type { AuthProvider } from '@modelcontextprotocol/client';
import { LRUCache } from 'lru-cache';
import { GatewayError } from '../core/errors.js';
import { pickReclaim, type Holding } from '../core/fair-share.js';
import type { Logger } from '../observability/log.js';
import type { Upstream } from './server.js';

export interface SessionRef {
  id: string;
  era: 'legacy' | 'modern';
  transport: 'streamable-http' | 'sse' | 'stdio';
}

/** A caller's own credential for a server that acts as its callers (undefined: none configured). */
export type CallerAuthFactory = (config: Upstream['config'], principal: string) => AuthProvider | undefined;

/** How sessions' children are reclaimed at maxProcesses (set by app.ts). */
export interface ReclaimOptions {
  /** Whether the session has a call in flight: its children are then never stopped. Without it, none are reclaimed. */
  sessionBusy?: (sessionId: string) => boolean;
  /** A child was stopped so another session could have one. */
  onReclaimed?: (server: string) => void;
}

/** Callers' own connections kept open at most, and how long one may sit idle. */
const MAX_CALLER_CONNECTIONS = 1_000;
const CALLER_IDLE_MS = 30 * 60_000;

/** One session's own connection to one server. */
interface OwnConnection {
  pending: Promise<Upstream>;
  /** Opened: a child still starting is never reclaimed. */
  opened: boolean;
  lastUsed: number;
}

/** A session's own connections, and the principal they count against. */
interface SessionConnections {
  principal: string;
  byServer: Map<string, OwnConnection>;
}

interface ChildHolding extends Holding {
  sessionId: string;
  own: OwnConnection;
}

export class ConnectionPool {
  /** session id → its own connections by server name (or their pending opens). */
  private readonly perSession = new Map<string, SessionConnections>();
  /** principal + server → that caller's own connection, for servers that act as their callers. */
  private readonly perCaller = new LRUCache<string, Promise<Upstream>>({
    max: MAX_CALLER_CONNECTIONS,
    ttl: CALLER_IDLE_MS,
    updateAgeOnGet: true,
    dispose: (pending) =>
      void pending.then(
        (c) => c.stop(),
        () => {},
      ),
  });

  constructor(
    private readonly log: Logger,
    /** Wires a new session-bound connection's events (set by app.ts). */
    private readonly onOpened: (connection: Upstream) => void = () => {},
    private readonly callerAuth: CallerAuthFactory = () => undefined,
    private readonly reclaim: ReclaimOptions = {},
  ) {}

  /** The connection this session's call to `shared`'s server must use. */
  acquire(shared: Upstream, session: SessionRef, principal?: string): Promise<Upstream> | Upstream {
    if (shared.perCaller && principal !== undefined && !this.ownedBySession(shared, session)) return this.callerConnection(shared, principal);
    if (!this.needsOwnConnection(shared, session)) return shared;
    let mine = this.perSession.get(session.id);
    if (!mine) this.perSession.set(session.id, (mine = { principal: principal ?? '', byServer: new Map() }));
    const existing = mine.byServer.get(shared.name);
    if (!existing) return this.open(shared, session, principal);
    existing.lastUsed = Date.now();
    return existing.pending.then((c) => (c.state === 'ready' ? c : this.reopen(shared, session, existing, principal)));
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
      const own = mine.byServer.get(server);
      if (!own) continue;
      mine.byServer.delete(server);
      void stopWhenOpen(own);
    }
    for (const key of [...this.perCaller.keys()]) if (key.endsWith(`\u0000${server}`)) this.perCaller.delete(key);
  }

  /** Closes a caller's connection (their credential was revoked). */
  dropCaller(principal: string, server: string): void {
    this.perCaller.delete(`${principal}\u0000${server}`);
  }

  private openForCaller(shared: Upstream, principal: string, key: string): Promise<Upstream> {
    const connection = shared.ownedBy(`caller:${principal}`, this.log.child({ server: shared.name }), this.callerAuth(shared.config, principal));
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
    const settled = await Promise.allSettled([...mine.byServer.values()].map((own) => own.pending));
    return settled.flatMap((r) => (r.status === 'fulfilled' && r.value.state === 'ready' ? [r.value] : []));
  }

  /** Closes every connection the session owned (and its child processes). */
  async release(sessionId: string): Promise<void> {
    const mine = this.perSession.get(sessionId);
    if (!mine) return;
    this.perSession.delete(sessionId);
    await Promise.allSettled([...mine.byServer.values()].map(stopWhenOpen));
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
    for (const mine of this.perSession.values()) for (const name of mine.byServer.keys()) counts[name] = (counts[name] ?? 0) + 1;
    return counts;
  }

  get openCount(): number {
    let n = 0;
    for (const mine of this.perSession.values()) n += mine.byServer.size;
    return n;
  }

  /** Every session's own connection to `name`, as the fair-share rule sees them. */
  private holdingsOf(name: string): ChildHolding[] {
    const busy = this.reclaim.sessionBusy ?? (() => true);
    const out: ChildHolding[] = [];
    for (const [sessionId, mine] of this.perSession) {
      const own = mine.byServer.get(name);
      if (own) out.push({ sessionId, own, holder: mine.principal, idle: own.opened && !busy(sessionId), lastUsed: own.lastUsed });
    }
    return out;
  }

  private needsOwnConnection(shared: Upstream, session: SessionRef): boolean {
    // A stateless request has no session to own anything, and a stdio
    // gateway has exactly one session: sharing is exact there.
    if (session.era === 'modern' || session.transport === 'stdio') return false;
    if (shared.config.spec.type === 'stdio') return shared.config.isolation === 'session';
    return shared.era !== 'modern';
  }

  /** A fresh connection in place of one that went down, unless a concurrent call has already opened one. */
  private reopen(shared: Upstream, session: SessionRef, stale: OwnConnection, principal?: string): Promise<Upstream> {
    const mine = this.perSession.get(session.id);
    const current = mine?.byServer.get(shared.name);
    if (current && current !== stale) return current.pending;
    // The session ended meanwhile: nothing may be opened for it any more.
    if (!mine)
      throw new GatewayError('UPSTREAM_UNAVAILABLE', `Upstream '${shared.name}': the session has ended`, { server: shared.name, reason: 'session ended' });
    if (current) mine.byServer.delete(shared.name);
    return this.open(shared, session, principal);
  }

  private open(shared: Upstream, session: SessionRef, principal?: string): Promise<Upstream> {
    const name = shared.name;
    // A reclaimed child is stopped before its replacement starts: maxProcesses bounds live processes.
    const room = shared.config.spec.type === 'stdio' ? this.roomFor(shared, session, principal ?? '') : Promise.resolve();
    const auth = shared.perCaller && principal !== undefined ? this.callerAuth(shared.config, principal) : undefined;
    const connection = shared.ownedBy(session.id, this.log.child({ server: name, session: session.id }), auth);
    this.onOpened(connection);
    const mine = this.perSession.get(session.id)!;
    const pending = room
      .then(() => connection.open())
      .then(
        () => {
          own.opened = true;
          return connection;
        },
        async (err: unknown) => {
          if (mine.byServer.get(name) === own) mine.byServer.delete(name);
          await connection.stop();
          throw err;
        },
      );
    const own: OwnConnection = { pending, opened: false, lastUsed: Date.now() };
    mine.byServer.set(name, own);
    return pending;
  }

  /**
   * Makes room for one more child of `shared`'s server: at maxProcesses an
   * idle session's child is stopped (see the top of this file), else the
   * call fails. Resolves once the stopped child is gone.
   */
  private roomFor(shared: Upstream, session: SessionRef, principal: string): Promise<void> {
    const { name, config } = shared;
    const holdings = this.holdingsOf(name);
    if (holdings.length < config.maxProcesses) return Promise.resolve();
    const victim = pickReclaim(holdings, principal);
    if (!victim) {
      throw new GatewayError(
        'UPSTREAM_UNAVAILABLE',
        `Upstream '${name}' has reached maxProcesses (${config.maxProcesses}), and every child's session is busy or no one else holds more`,
        {
          server: name,
          reason: 'maxProcesses',
          fix: `raise gateway.servers.${name}.maxProcesses or lower gateway.sessionIdleMs`,
        },
      );
    }
    this.perSession.get(victim.sessionId)?.byServer.delete(name);
    this.log.info('idle session child stopped for another session (maxProcesses)', {
      server: name,
      reclaimedSession: victim.sessionId,
      forSession: session.id,
    });
    this.reclaim.onReclaimed?.(name);
    return stopWhenOpen(victim.own);
  }
}

/** Stops a session's connection once its open has settled (a failed open stops itself). */
function stopWhenOpen(own: OwnConnection): Promise<void> {
  return own.pending.then(
    (c) => c.stop(),
    () => {},
  );
}
