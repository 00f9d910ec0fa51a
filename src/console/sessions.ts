/**
 * Console sign-ins: a random session id (the cookie) bound to a principal, a
 * role, a CSRF token and an expiry. Bounded: the oldest sign-in goes first
 * when the store is full, and an expired one is gone on its next use.
 */
import { randomBytes } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import type { Principal } from '../core/principal.js';

export type ConsoleRole = 'admin' | 'viewer';

export interface ConsoleSession {
  id: string;
  principal: Principal;
  role: ConsoleRole;
  csrf: string;
  expiresAt: number;
}

/** Sign-ins kept at most (each is small; a flood of sign-ins evicts the oldest, never grows memory). */
const MAX_SESSIONS = 1000;
/** Sign-ins one principal holds at most: its own flood closes its own oldest, never someone else's. */
export const MAX_SESSIONS_PER_PRINCIPAL = 10;

export class ConsoleSessions {
  /** Session ids per principal, oldest first; kept in step with the store by its dispose hook. */
  private readonly byPrincipal = new Map<string, string[]>();
  private readonly sessions = new LRUCache<string, ConsoleSession>({
    max: MAX_SESSIONS,
    dispose: (session) => this.forget(session),
  });

  constructor(
    private readonly lifetimeMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** A new session (a sign-in always gets a fresh id: no fixation). */
  open(principal: Principal, role: ConsoleRole): ConsoleSession {
    const held = this.byPrincipal.get(principal.id) ?? [];
    // Deleting runs the dispose hook, which drops the id from byPrincipal.
    for (const id of held.slice(0, Math.max(0, held.length - MAX_SESSIONS_PER_PRINCIPAL + 1))) this.sessions.delete(id);
    const session = { id: token(), principal, role, csrf: token(), expiresAt: this.now() + this.lifetimeMs };
    this.sessions.set(session.id, session);
    this.byPrincipal.set(principal.id, [...(this.byPrincipal.get(principal.id) ?? []), session.id]);
    return session;
  }

  find(id: string | undefined): ConsoleSession | undefined {
    if (!id) return undefined;
    const session = this.sessions.get(id);
    if (!session) return undefined;
    if (session.expiresAt <= this.now()) {
      this.sessions.delete(id);
      return undefined;
    }
    return session;
  }

  close(id: string): void {
    this.sessions.delete(id);
  }

  private forget(session: ConsoleSession): void {
    const rest = (this.byPrincipal.get(session.principal.id) ?? []).filter((id) => id !== session.id);
    if (rest.length > 0) this.byPrincipal.set(session.principal.id, rest);
    else this.byPrincipal.delete(session.principal.id);
  }
}

function token(): string {
  return randomBytes(32).toString('base64url');
}
