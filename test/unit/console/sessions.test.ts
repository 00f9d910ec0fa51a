import { describe, expect, it } from 'vitest';
import { CallStats } from '../../../src/console/call-stats.js';
import { roleOf } from '../../../src/console/roles.js';
import { ConsoleSessions } from '../../../src/console/sessions.js';
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
    expect(stats.summary()).toEqual({ a: { total: 101, errors: 10, denied: 1, p50Ms: 50, p99Ms: 99 } });
  });
});
