/**
 * SessionRegistry + SessionLimiter on a fake clock: a principal at its cap
 * loses its least recently used idle session (not merely its oldest), never
 * a busy one; openings in progress hold their slot; the gateway's cap takes
 * only from a holder two ahead, else 503; the idle sweep spares busy sessions.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Server } from '@modelcontextprotocol/server';
import { ANONYMOUS } from '../../../src/core/principal.js';
import { admissionRefusal, SessionLimiter, type Admission, type SessionLimitReason } from '../../../src/http/session-limits.js';
import { SessionRegistry, type Session } from '../../../src/session/registry.js';
import { createLogger } from '../../../src/observability/log.js';
import { WHOLE_CATALOG } from '../../../src/pipeline/view.js';

const log = createLogger({ level: 'error', write: () => {} });

/** A registry, a limiter over it, the events it reported, and a way to open sessions like the HTTP front does. */
function setup(maxSessions: number, maxSessionsPerPrincipal: number) {
  const registry = new SessionRegistry();
  const events: string[] = [];
  const limiter = new SessionLimiter(registry, { maxSessions, maxSessionsPerPrincipal }, log, {
    refused: (reason: SessionLimitReason) => void events.push(`refused:${reason}`),
    evicted: (reason: SessionLimitReason) => void events.push(`evicted:${reason}`),
  });
  const closed: string[] = [];
  let next = 0;
  const open = (principal: string): Session => {
    const admission = limiter.admit(principal);
    if (!admission.admitted) throw new Error(`refused: ${admission.error.code}`);
    const id = `${principal}-${next++}`;
    const session: Session = {
      info: { id, transport: 'streamable-http', era: 'legacy' },
      // Only the id matters to the registry.
      principal: { ...ANONYMOUS, id: principal },
      view: WHOLE_CATALOG,
      server: {} as Server,
      lastActive: Date.now(),
      close: async () => {
        closed.push(id);
        registry.remove(id);
      },
    };
    registry.add(session);
    admission.release();
    return session;
  };
  return { registry, limiter, events, closed, open };
}

const refused = (admission: Admission) => {
  if (admission.admitted) throw new Error('admitted');
  return admission;
};

beforeEach(() => void vi.useFakeTimers({ now: 1_000_000 }));
afterEach(() => void vi.useRealTimers());

describe('SessionLimiter: the per-principal cap', () => {
  it('closes the least recently used idle session of the principal, not the oldest', () => {
    const { registry, open, closed, events } = setup(100, 2);
    const first = open('alice');
    vi.advanceTimersByTime(1_000);
    const second = open('alice');
    vi.advanceTimersByTime(1_000);
    registry.get(first.info.id); // a request: first is now the most recently used
    open('alice');
    expect(closed).toEqual([second.info.id]);
    expect(registry.countOf('alice')).toBe(2);
    expect(events).toEqual(['evicted:principal']);
  });

  it("never closes a session with a call in flight; with all busy it refuses with 429, Retry-After and the principal's limit", () => {
    const { registry, limiter, open, closed, events } = setup(100, 2);
    const a = open('alice');
    vi.advanceTimersByTime(10);
    const b = open('alice');
    registry.callStarted(a.info.id);
    vi.advanceTimersByTime(10);
    open('alice');
    expect(closed).toEqual([b.info.id]);
    const c = registry.all().find((s) => s.info.id !== a.info.id)!;
    registry.callStarted(c.info.id);

    const no = refused(limiter.admit('alice'));
    expect(no.status).toBe(429);
    expect(no.error.toJsonRpcError()).toMatchObject({ code: -32007, data: { code: 'TOO_MANY_SESSIONS', reason: 'principal', limit: 2, retryAfterMs: 5000 } });
    expect(admissionRefusal(no, 7)).toEqual({
      status: 429,
      headers: { 'Retry-After': '5' },
      body: { jsonrpc: '2.0', error: no.error.toJsonRpcError(), id: 7 },
    });
    expect(events).toEqual(['evicted:principal', 'refused:principal']);
    // Another principal is not affected.
    expect(limiter.admit('bob').admitted).toBe(true);

    // Once a call ends that session is idle again, and goes first.
    registry.callEnded(a.info.id);
    open('alice');
    expect(closed).toEqual([b.info.id, a.info.id]);
  });

  it('counts openings still in progress, so concurrent initializes cannot overshoot', () => {
    const { limiter } = setup(100, 2);
    const one = limiter.admit('alice');
    const two = limiter.admit('alice');
    expect(refused(limiter.admit('alice')).status).toBe(429);
    if (!one.admitted || !two.admitted) throw new Error('refused');
    one.release();
    one.release(); // idempotent
    expect(limiter.admit('alice').admitted).toBe(true);
    expect(refused(limiter.admit('alice')).status).toBe(429);
  });

  it("ignores calls of ids it does not hold (stateless requests) and forgets a removed session's calls", () => {
    const { registry, open } = setup(100, 2);
    registry.callStarted('stateless-1');
    expect(registry.isBusy('stateless-1')).toBe(false);
    const s = open('alice');
    registry.callStarted(s.info.id);
    registry.callStarted(s.info.id);
    registry.callEnded(s.info.id);
    expect(registry.isBusy(s.info.id)).toBe(true);
    registry.remove(s.info.id);
    expect(registry.isBusy(s.info.id)).toBe(false);
    expect(registry.countOf('alice')).toBe(0);
  });
});

describe('SessionLimiter: the gateway cap', () => {
  it("takes the heaviest holder's least recently used idle session, only from a holder two ahead, else 503", () => {
    const { limiter, open, closed, events, registry } = setup(4, 10);
    const a = [open('alice'), open('alice'), open('alice')];
    vi.advanceTimersByTime(5);
    registry.get(a[0]!.info.id);
    open('bob');
    // Full: carol (none) takes alice's least recently used (a[1]).
    open('carol');
    expect(closed).toEqual([a[1]!.info.id]);
    // alice 2, bob 1, carol 1: dave takes from alice again.
    open('dave');
    expect(closed).toEqual([a[1]!.info.id, a[2]!.info.id]);
    // One each: refused, nobody loses a session.
    const no = refused(limiter.admit('erin'));
    expect(no.status).toBe(503);
    expect(no.error.toJsonRpcError().data).toMatchObject({ code: 'TOO_MANY_SESSIONS', reason: 'gateway', limit: 4 });
    expect(registry.size).toBe(4);
    expect(events).toEqual(['evicted:gateway', 'evicted:gateway', 'refused:gateway']);
    // A holder may trade its own idle session.
    open('bob');
    expect(registry.countOf('bob')).toBe(1);
    expect(registry.size).toBe(4);
  });

  it('never takes a busy session of the heaviest holder', () => {
    const { limiter, open, registry } = setup(3, 10);
    for (const s of [open('alice'), open('alice'), open('alice')]) registry.callStarted(s.info.id);
    expect(refused(limiter.admit('bob')).status).toBe(503);
  });
});

describe('SessionRegistry: the idle sweep', () => {
  it('closes sessions idle for longer than sessionIdleMs, but not one with a call in flight', () => {
    const { registry, open, closed } = setup(100, 10);
    const idle = open('alice');
    const busy = open('alice');
    registry.callStarted(busy.info.id);
    registry.startSweeper(60_000, 1_000);
    vi.advanceTimersByTime(62_000);
    expect(closed).toEqual([idle.info.id]);
    registry.callEnded(busy.info.id);
    vi.advanceTimersByTime(30_000);
    expect(closed).toEqual([idle.info.id]);
    vi.advanceTimersByTime(32_000);
    expect(closed).toEqual([idle.info.id, busy.info.id]);
    void registry.closeAll();
  });
});
