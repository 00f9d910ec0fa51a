import { describe, expect, it } from 'vitest';
import { CallStats } from '../../../src/console/call-stats.js';
import { roleOf } from '../../../src/console/roles.js';
import { ConsoleSessions, MAX_SESSIONS_PER_PRINCIPAL } from '../../../src/console/sessions.js';
import { SignInLimit } from '../../../src/console/sign-in-limit.js';
import type { Principal } from '../../../src/core/principal.js';

const who = (over: Partial<Principal> = {}): Principal => ({ id: 'apikey:a', kind: 'apikey', subject: 'a', scopes: [], groups: [], claims: {}, ...over });
const roles = { admin: { scopes: ['switchboard.admin'], groups: ['sre'] }, viewer: { scopes: ['switchboard.viewer'], groups: [] } };

describe('console sessions', () => {
  it('a session is found by its id until it expires, then gone', () => {
    let now = 1_000;
    const sessions = new ConsoleSessions(60_000, () => now);
    const s = sessions.open(who(), 'viewer');
    expect(s.id).toMatch(/^[\w-]{43}$/);
    expect(s.csrf).not.toBe(s.id);
    expect(sessions.find(s.id)).toBe(s);
    now += 60_000;
    expect(sessions.find(s.id)).toBeUndefined();
    expect(sessions.find(undefined)).toBeUndefined();
  });

  it('every sign-in gets a fresh id; closing one leaves the others', () => {
    const sessions = new ConsoleSessions(60_000);
    const a = sessions.open(who(), 'admin');
    const b = sessions.open(who(), 'admin');
    expect(a.id).not.toBe(b.id);
    sessions.close(a.id);
    expect(sessions.find(a.id)).toBeUndefined();
    expect(sessions.find(b.id)).toBe(b);
  });

  it('is bounded: the oldest sign-in goes first', () => {
    const sessions = new ConsoleSessions(60_000);
    const first = sessions.open(who(), 'viewer');
    for (let i = 0; i < 1000; i++) sessions.open(who(), 'viewer');
    expect(sessions.find(first.id)).toBeUndefined();
  });
});

describe('console roles', () => {
  it('admin before viewer, by scope or group; none without either', () => {
    expect(roleOf(who({ scopes: ['switchboard.admin', 'switchboard.viewer'] }), roles)).toBe('admin');
    expect(roleOf(who({ groups: ['sre'] }), roles)).toBe('admin');
    expect(roleOf(who({ scopes: ['switchboard.viewer'] }), roles)).toBe('viewer');
    expect(roleOf(who({ scopes: ['repo'] }), roles)).toBeUndefined();
  });
});

describe('console call statistics', () => {
  it('counts calls, errors and denials per server and takes p50/p99 over the recent window', () => {
    const stats = new CallStats();
    for (let i = 1; i <= 100; i++) stats.record({ server: 'a', outcome: i % 10 === 0 ? 'error' : 'ok', latencyMs: i });
    stats.record({ server: 'a', outcome: 'denied', latencyMs: 0.5 });
    stats.record({ outcome: 'ok', latencyMs: 1 });
    expect(stats.summary()).toEqual({ a: { total: 101, errors: 10, denied: 1, perSecond: expect.any(Number), p50Ms: 50, p99Ms: 99 } });
  });

  it("one principal holds at most a few sign-ins: its flood closes its own oldest, never another principal's", () => {
    const sessions = new ConsoleSessions(60_000);
    const admin = sessions.open(who({ id: 'apikey:admin' }), 'admin');
    const flood = Array.from({ length: 1_500 }, () => sessions.open(who({ id: 'apikey:viewer' }), 'viewer'));
    expect(sessions.find(admin.id)).toBe(admin);
    const alive = flood.filter((s) => sessions.find(s.id) !== undefined);
    expect(alive).toEqual(flood.slice(-MAX_SESSIONS_PER_PRINCIPAL));
    // Closing one frees its place: the next sign-in closes none of the others.
    sessions.close(alive[0]!.id);
    const next = sessions.open(who({ id: 'apikey:viewer' }), 'viewer');
    expect([...alive.slice(1), next].every((s) => sessions.find(s.id) !== undefined)).toBe(true);
  });
});

describe('sign-in attempts per address', () => {
  it('allows perMinute attempts per address in a window, then says when to retry; other addresses are unaffected', () => {
    let now = 0;
    const limit = new SignInLimit(3, () => now);
    for (let i = 0; i < 3; i++) expect(limit.attempt('10.0.0.1')).toEqual({ ok: true });
    now = 20_000;
    expect(limit.attempt('10.0.0.1')).toEqual({ ok: false, retryAfterMs: 40_000, first: true });
    expect(limit.attempt('10.0.0.1')).toEqual({ ok: false, retryAfterMs: 40_000, first: false });
    expect(limit.attempt('10.0.0.2')).toEqual({ ok: true });
    now = 60_000;
    expect(limit.attempt('10.0.0.1')).toEqual({ ok: true });
  });
});
