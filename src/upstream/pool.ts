/**
 * Which connection a call uses. Shared by default; a session gets its own
 * upstream connection where sharing would make server-to-client traffic
 * ambiguous and a connection is cheap (a 2025-era HTTP/SSE upstream: the
 * remote server holds the session), or where the operator asked for it
 * (`isolation: "session"`, one child process per session, bounded by
 * `maxProcesses`). 2026-07-28 upstreams are always shared: their input
 * requests come back inside the call's own result.
 */
import { GatewayError } from '../errors.js';
import type { Logger } from '../observability/log.js';
import { Upstream } from './upstream.js';

export interface SessionRef {
  id: string;
  era: 'legacy' | 'modern';
  transport: 'streamable-http' | 'sse' | 'stdio';
}

export class ConnectionPool {
  /** session id → server name → that session's own connection (or the pending open). */
  private readonly perSession = new Map<string, Map<string, Promise<Upstream>>>();

  constructor(
    private readonly log: Logger,
    /** Wires a new session-bound connection's events (set by app.ts). */
    private readonly onOpened: (connection: Upstream) => void = () => {},
  ) {}

  /** The connection this session's call to `shared`'s server must use. */
  acquire(shared: Upstream, session: SessionRef): Promise<Upstream> | Upstream {
    if (!this.needsOwnConnection(shared, session)) return shared;
    let mine = this.perSession.get(session.id);
    if (!mine) this.perSession.set(session.id, (mine = new Map()));
    const existing = mine.get(shared.name);
    if (existing) return existing.then((c) => (c.state === 'ready' ? c : this.reopen(shared, session)));
    return this.open(shared, session);
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
    await Promise.allSettled([...this.perSession.keys()].map((id) => this.release(id)));
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

  private reopen(shared: Upstream, session: SessionRef): Promise<Upstream> {
    this.perSession.get(session.id)?.delete(shared.name);
    return this.open(shared, session);
  }

  private open(shared: Upstream, session: SessionRef): Promise<Upstream> {
    const name = shared.name;
    const isProcess = shared.config.spec.type === 'stdio';
    if (isProcess && this.countOpen(name) >= shared.config.maxProcesses) {
      throw new GatewayError('UPSTREAM_UNAVAILABLE', `Upstream '${name}' has reached maxProcesses (${shared.config.maxProcesses})`, {
        server: name,
        reason: 'maxProcesses',
        fix: `raise gateway.servers.${name}.maxProcesses or lower gateway.sessionIdleMs`,
      });
    }
    const connection = new Upstream(shared.config, this.log.child({ server: name, session: session.id }), session.id, shared.maxRequestMs);
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
