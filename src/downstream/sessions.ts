/**
 * Live downstream sessions: the registry, the idle sweep that closes
 * forgotten ones (deleting the map entry alone would leak the SSE stream and
 * its closures), and which session subscribed to which resource.
 */
import type { LoggingLevel, Server } from '@modelcontextprotocol/server';
import type { SessionInfo } from '../pipeline/index.js';

export interface Session {
  readonly info: SessionInfo;
  /** The SDK server speaking to this client (one per session). */
  readonly server: Server;
  logLevel?: LoggingLevel;
  lastActive: number;
  /** Closes the transport and the server; idempotent. */
  close(): Promise<void>;
}

export class SessionRegistry {
  private readonly sessions = new Map<string, Session>();
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
    this.sessions.set(session.info.id, session);
  }

  remove(id: string): void {
    const session = this.sessions.get(id);
    if (!session) return;
    this.sessions.delete(id);
    this.onRemoved(session);
  }

  all(): Session[] {
    return [...this.sessions.values()];
  }

  countBy(): Record<string, number> {
    const counts: Record<string, number> = {};
    for (const s of this.sessions.values()) {
      const key = `${s.info.transport}/${s.info.era}`;
      counts[key] = (counts[key] ?? 0) + 1;
    }
    return counts;
  }

  /** Closes sessions idle for longer than `idleMs`, checking every `everyMs`. */
  startSweeper(idleMs: number, everyMs = Math.min(60_000, Math.max(1_000, idleMs / 4))): void {
    this.sweeper = setInterval(() => {
      const cutoff = Date.now() - idleMs;
      for (const session of this.all()) if (session.lastActive < cutoff) void session.close();
    }, everyMs);
    this.sweeper.unref();
  }

  async closeAll(): Promise<void> {
    clearInterval(this.sweeper);
    await Promise.allSettled(this.all().map((s) => s.close()));
  }
}

/**
 * Who subscribed to what. Upstreams see one subscription per resource
 * however many sessions want it; updates go only to the subscribers.
 */
export class SubscriptionRegistry {
  private readonly byResource = new Map<string, { server: string; original: string; exposed: string; sessions: Set<string> }>();

  /** Returns true when this is the first subscriber (the upstream must be told). */
  add(server: string, original: string, exposed: string, sessionId: string): boolean {
    const key = keyOf(server, original);
    let entry = this.byResource.get(key);
    const first = !entry;
    if (!entry) this.byResource.set(key, (entry = { server, original, exposed, sessions: new Set() }));
    entry.sessions.add(sessionId);
    return first;
  }

  /** Returns true when the last subscriber left (the upstream may be told). */
  remove(server: string, original: string, sessionId: string): boolean {
    const key = keyOf(server, original);
    const entry = this.byResource.get(key);
    if (!entry) return false;
    entry.sessions.delete(sessionId);
    if (entry.sessions.size > 0) return false;
    this.byResource.delete(key);
    return true;
  }

  /** Every resource the session held, and whether it was the last subscriber. */
  dropSession(sessionId: string): { server: string; original: string; last: boolean }[] {
    const dropped: { server: string; original: string; last: boolean }[] = [];
    for (const entry of this.byResource.values()) {
      if (!entry.sessions.has(sessionId)) continue;
      dropped.push({ server: entry.server, original: entry.original, last: this.remove(entry.server, entry.original, sessionId) });
    }
    return dropped;
  }

  subscribers(server: string, original: string): { exposed: string; sessions: string[] } | undefined {
    const entry = this.byResource.get(keyOf(server, original));
    return entry && { exposed: entry.exposed, sessions: [...entry.sessions] };
  }

  resourcesOf(server: string): string[] {
    return [...this.byResource.values()].filter((e) => e.server === server).map((e) => e.original);
  }
}

function keyOf(server: string, original: string): string {
  return `${server}\u0000${original}`;
}
