/**
 * Live downstream sessions: the registry (indexed by principal, with the
 * calls each has in flight, for the session caps in session-limits.ts), the
 * idle sweep that closes forgotten ones (deleting the map entry alone would
 * leak the SSE stream and its closures), and which session subscribed to
 * which resource.
 */
import type { LoggingLevel, Server } from '@modelcontextprotocol/server';
import type { Principal } from '../core/principal.js';
import type { Holding } from '../core/fair-share.js';
import type { SessionInfo } from '../pipeline/index.js';
import type { View } from '../pipeline/view.js';
import type { Upstream } from '../upstream/server.js';

export interface Session {
  readonly info: SessionInfo;
  /** The principal that opened the session; later requests must be the same one. */
  readonly principal: Principal;
  /** The view of the endpoint it was opened on. */
  readonly view: View;
  /** The SDK server speaking to this client (one per session). */
  readonly server: Server;
  logLevel?: LoggingLevel;
  lastActive: number;
  /** Closes the transport and the server; idempotent. */
  close(): Promise<void>;
}

/** An open session as the fair-share rule sees it (see fair-share.ts). */
export interface SessionHolding extends Holding {
  readonly session: Session;
}

export class SessionRegistry {
  private readonly sessions = new Map<string, Session>();
  /** Principal id → its open sessions' ids: the per-principal cap is checked on every opening. */
  private readonly byPrincipal = new Map<string, Set<string>>();
  /** Session id → routed calls in flight (absent: none). A busy session is never evicted or swept. */
  private readonly inFlight = new Map<string, number>();
  private sweeper?: NodeJS.Timeout;

  constructor(private readonly onRemoved: (session: Session) => void = () => {}) {}

  get size(): number {
    return this.sessions.size;
  }

  get(id: string): Session | undefined {
    const session = this.sessions.get(id);
    if (session) session.lastActive = Date.now();
    return session;
  }

  add(session: Session): void {
    const id = session.info.id;
    this.sessions.set(id, session);
    let own = this.byPrincipal.get(session.principal.id);
    if (!own) this.byPrincipal.set(session.principal.id, (own = new Set()));
    own.add(id);
  }

  remove(id: string): void {
    const session = this.sessions.get(id);
    if (!session) return;
    this.sessions.delete(id);
    this.inFlight.delete(id);
    const own = this.byPrincipal.get(session.principal.id);
    own?.delete(id);
    if (own?.size === 0) this.byPrincipal.delete(session.principal.id);
    this.onRemoved(session);
  }

  all(): Session[] {
    return [...this.sessions.values()];
  }

  /** Open sessions of one principal. */
  countOf(principalId: string): number {
    return this.byPrincipal.get(principalId)?.size ?? 0;
  }

  /** A routed call of the session started. Ids of no open session (stateless requests) are ignored. */
  callStarted(id: string): void {
    if (this.sessions.has(id)) this.inFlight.set(id, (this.inFlight.get(id) ?? 0) + 1);
  }

  /** A routed call of the session ended: it counts as activity, so the session is now the most recently used. */
  callEnded(id: string): void {
    const n = this.inFlight.get(id);
    if (n === undefined) return;
    if (n > 1) this.inFlight.set(id, n - 1);
    else this.inFlight.delete(id);
    const session = this.sessions.get(id);
    if (session) session.lastActive = Date.now();
  }

  /** Whether the session has a routed call in flight. */
  isBusy(id: string): boolean {
    return this.inFlight.has(id);
  }

  /** Open sessions (of one principal, or all) with who holds each, whether it is idle and when it was last used. */
  holdings(principalId?: string): SessionHolding[] {
    const ids = principalId === undefined ? this.sessions.keys() : (this.byPrincipal.get(principalId) ?? []);
    const out: SessionHolding[] = [];
    for (const id of ids) {
      const session = this.sessions.get(id)!;
      out.push({ session, holder: session.principal.id, idle: !this.inFlight.has(id), lastUsed: session.lastActive });
    }
    return out;
  }

  countBy(): Record<string, number> {
    const counts: Record<string, number> = {};
    for (const s of this.sessions.values()) {
      const key = `${s.info.transport}/${s.info.era}`;
      counts[key] = (counts[key] ?? 0) + 1;
    }
    return counts;
  }

  /**
   * Closes sessions idle for longer than `idleMs`, checking every `everyMs`.
   * One with a call in flight is not idle, however long the call takes.
   */
  startSweeper(idleMs: number, everyMs = Math.min(60_000, Math.max(1_000, idleMs / 4))): void {
    this.sweeper = setInterval(() => {
      const cutoff = Date.now() - idleMs;
      for (const session of this.all()) if (session.lastActive < cutoff && !this.isBusy(session.info.id)) void session.close();
    }, everyMs);
    this.sweeper.unref();
  }

  async closeAll(): Promise<void> {
    clearInterval(this.sweeper);
    await Promise.allSettled(this.all().map((s) => s.close()));
  }
}

/**
 * Who subscribed to what, per upstream connection. A shared connection sees
 * one subscription per resource however many sessions want it; updates go
 * only to the subscribers.
 */
export class SubscriptionRegistry {
  private readonly byResource = new Map<string, SubscriptionEntry>();

  /** Returns true when this is the first subscriber on that connection. */
  add(connection: Upstream, original: string, exposed: string, sessionId: string): boolean {
    const key = keyOf(connection.id, original);
    let entry = this.byResource.get(key);
    const first = !entry;
    if (!entry) this.byResource.set(key, (entry = { connection, original, exposed, sessions: new Set() }));
    entry.sessions.add(sessionId);
    return first;
  }

  /**
   * Removes the session's subscription to an exposed URI. Returns the entry
   * and whether it was the last subscriber (the upstream may then be told).
   */
  remove(sessionId: string, exposed: string): { connection: Upstream; original: string; last: boolean } | undefined {
    for (const [key, entry] of this.byResource) {
      if (entry.exposed !== exposed || !entry.sessions.delete(sessionId)) continue;
      const last = entry.sessions.size === 0;
      if (last) this.byResource.delete(key);
      return { connection: entry.connection, original: entry.original, last };
    }
    return undefined;
  }

  /** Every subscription the session held, and whether it was the last subscriber. */
  dropSession(sessionId: string): { connection: Upstream; original: string; last: boolean }[] {
    const exposed = [...this.byResource.values()].filter((e) => e.sessions.has(sessionId)).map((e) => e.exposed);
    return exposed.flatMap((uri) => this.remove(sessionId, uri) ?? []);
  }

  subscribers(connection: Upstream, original: string): { exposed: string; sessions: string[] } | undefined {
    const entry = this.byResource.get(keyOf(connection.id, original));
    return entry && { exposed: entry.exposed, sessions: [...entry.sessions] };
  }

  resourcesOf(connection: Upstream): string[] {
    return [...this.byResource.values()].filter((e) => e.connection === connection).map((e) => e.original);
  }
}

interface SubscriptionEntry {
  connection: Upstream;
  original: string;
  exposed: string;
  sessions: Set<string>;
}

function keyOf(connectionId: string, original: string): string {
  return `${connectionId}\u0000${original}`;
}
