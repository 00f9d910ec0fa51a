/**
 * The session caps (`gateway.limits`): every 2025-era session a client opens
 * (Streamable HTTP `initialize`, `GET /sse`, on any endpoint or profile) is
 * admitted here first. Without them one credential could open sessions until
 * the gateway ran out of memory or child processes, each living
 * `sessionIdleMs` after its last request.
 *
 * - A principal at `maxSessionsPerPrincipal` trades its own least recently
 *   used idle session for the new one; if every one of them has a call in
 *   flight, it is refused with 429 and Retry-After.
 * - At `maxSessions` the rule of fair-share.ts picks an idle session to close:
 *   the heaviest holder's least recently used (the caller's own on a tie),
 *   and another principal's only if it holds at least two more than the
 *   caller; otherwise 503 and Retry-After (the gateway is full, not the
 *   caller at fault: a proxy may retry on another replica).
 *
 * A closed session's next request gets 404, which tells a client to
 * initialize again. Openings still in progress hold a reserved slot, so
 * concurrent `initialize`s cannot overshoot a cap.
 */
import { GatewayError } from '../core/errors.js';
import { pickReclaim } from '../core/fair-share.js';
import type { Logger } from '../observability/log.js';
import type { Refusal } from './responses.js';
import type { SessionHolding, SessionRegistry } from '../session/registry.js';

export interface SessionLimits {
  maxSessions: number;
  maxSessionsPerPrincipal: number;
}

/** Which cap a refusal or an eviction came from. */
export type SessionLimitReason = 'principal' | 'gateway';

export interface SessionLimitEvents {
  refused?(reason: SessionLimitReason): void;
  evicted?(reason: SessionLimitReason): void;
}

/** A refused client may try again once a call of its own has finished or an idle session has gone. */
export const RETRY_AFTER_SECONDS = 5;

export type Admission =
  | { admitted: true /** Frees the reserved slot once the session is registered, or failed to open; idempotent. */; release(): void }
  | { admitted: false; status: 429 | 503; error: GatewayError };

export class SessionLimiter {
  /** Openings admitted but not registered yet, per principal and in all. */
  private readonly pending = new Map<string, number>();
  private pendingTotal = 0;

  constructor(
    private readonly registry: SessionRegistry,
    private readonly limits: SessionLimits,
    private readonly log: Logger,
    private readonly events: SessionLimitEvents = {},
  ) {}

  /** Admits a new session of `principal` (closing the session it displaces), or says why not. */
  admit(principal: string): Admission {
    const { maxSessions, maxSessionsPerPrincipal } = this.limits;
    if (this.registry.countOf(principal) + (this.pending.get(principal) ?? 0) >= maxSessionsPerPrincipal) {
      const victim = pickReclaim(this.registry.holdings(principal), principal);
      if (!victim) return this.refuse('principal', principal);
      this.evict(victim, 'principal');
    }
    if (this.registry.size + this.pendingTotal >= maxSessions) {
      const victim = pickReclaim(this.registry.holdings(), principal);
      if (!victim) return this.refuse('gateway', principal);
      this.evict(victim, 'gateway');
    }
    return this.reserve(principal);
  }

  private reserve(principal: string): Admission {
    this.pending.set(principal, (this.pending.get(principal) ?? 0) + 1);
    this.pendingTotal++;
    let released = false;
    return {
      admitted: true,
      release: () => {
        if (released) return;
        released = true;
        this.pendingTotal--;
        const n = this.pending.get(principal)! - 1;
        if (n === 0) this.pending.delete(principal);
        else this.pending.set(principal, n);
      },
    };
  }

  /** Unregistered at once, so the count is right before the transport has finished closing. */
  private evict({ session }: SessionHolding, reason: SessionLimitReason): void {
    this.log.debug('session closed for a new one', { session: session.info.id, principal: session.principal.id, reason });
    this.registry.remove(session.info.id);
    void session.close();
    this.events.evicted?.(reason);
  }

  private refuse(reason: SessionLimitReason, principal: string): Admission {
    this.log.debug('new session refused', { principal, reason });
    this.events.refused?.(reason);
    const retryAfterMs = RETRY_AFTER_SECONDS * 1000;
    if (reason === 'principal') {
      const limit = this.limits.maxSessionsPerPrincipal;
      const message = `Too many sessions: this principal holds ${limit}, each with a call in flight; end one (DELETE) or retry later`;
      return { admitted: false, status: 429, error: new GatewayError('TOO_MANY_SESSIONS', message, { reason, limit, retryAfterMs }) };
    }
    const limit = this.limits.maxSessions;
    const message = `Too many sessions: the gateway holds its maximum (${limit}); retry later`;
    return { admitted: false, status: 503, error: new GatewayError('TOO_MANY_SESSIONS', message, { reason, limit, retryAfterMs }) };
  }
}

/** The HTTP answer to a refused opening: the status, Retry-After, and the JSON-RPC error (answering `id` when known). */
export function admissionRefusal(admission: Extract<Admission, { admitted: false }>, id: unknown = null): Refusal {
  const requestId = typeof id === 'string' || typeof id === 'number' ? id : null;
  return {
    status: admission.status,
    headers: { 'Retry-After': String(RETRY_AFTER_SECONDS) },
    body: { jsonrpc: '2.0', error: admission.error.toJsonRpcError(), id: requestId },
  };
}
