/**
 * The Redis approval store against a real redis-server: the memory store's
 * semantics, two store instances on one Redis acting as two replicas (a call
 * parked on one, decided on the other), first decision wins, expiry by TTL,
 * the bounds, prefixes kept apart, and health through an outage.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApprovalStoreFull, MAX_PENDING, MAX_PENDING_PER_PRINCIPAL } from '../../src/approvals/memory-store.js';
import { RedisApprovalStore } from '../../src/approvals/redis-store.js';
import type { ApprovalDecision, PendingApproval } from '../../src/approvals/types.js';
import { createRedisClient, type Redis } from '../../src/infra/redis.js';
import { createLogger } from '../../src/observability/log.js';
import { freePort } from '../helpers/processes.js';
import { startRedis, type RunningRedis } from '../helpers/redis.js';

/** An argument value that must never reach a log line. */
const SECRET = 'argument-value-never-logged-7f3a';

let redis: RunningRedis;
let admin: Redis;
const stores: RedisApprovalStore[] = [];
const logs: string[] = [];
let prefixSeq = 0;

const newPrefix = () => `test${prefixSeq++}:approvals:`;

function store(prefix: string, url = redis.url): RedisApprovalStore {
  const s = new RedisApprovalStore({ url, prefix, timeoutMs: 500 }, createLogger({ level: 'debug', write: (line) => logs.push(line) }));
  stores.push(s);
  return s;
}

/** Two replicas: two stores on the same Redis and prefix. */
function replicas(): [RedisApprovalStore, RedisApprovalStore, string] {
  const prefix = newPrefix();
  return [store(prefix), store(prefix), prefix];
}

function approval(overrides: Partial<PendingApproval> = {}): PendingApproval {
  const now = Date.now();
  return {
    id: randomUUID(),
    principal: 'alice',
    server: 'files',
    tool: 'delete',
    exposed: 'files__delete',
    arguments: { path: '/tmp/x', secret: SECRET },
    digest: 'd'.repeat(64),
    policyVersion: 'v1',
    ruleId: 'r1',
    approvers: [{ kind: 'self' }],
    message: 'Delete it?',
    createdAt: now,
    expiresAt: now + 60_000,
    ...overrides,
  };
}

const decision = (outcome: ApprovalDecision['outcome'] = 'granted', by = 'bob'): ApprovalDecision => ({ outcome, by, channel: 'console', at: Date.now() });

const live = () => new AbortController().signal;

/** Resolves once `n` connections are subscribed to the prefix's channel (a waiting replica listens). */
const subscribed = (prefix: string, n = 1) =>
  expect
    .poll(async () => {
      const [, count] = (await admin.pubsub('NUMSUB', `${prefix}decided`)) as [string, number];
      return count;
    })
    .toBeGreaterThanOrEqual(n);

beforeAll(async () => {
  redis = await startRedis();
  admin = createRedisClient(redis.url, { commandTimeoutMs: 2_000, connectTimeoutMs: 2_000, lazyConnect: true });
  await admin.connect();
});

afterAll(async () => {
  await Promise.allSettled(stores.map((s) => s.shutdown()));
  await admin?.quit().catch(() => admin.disconnect());
  await redis?.stop();
  // Whatever was logged (outages included), no argument value was.
  expect(logs.join('\n')).not.toContain(SECRET);
});

describe('RedisApprovalStore', () => {
  it('opens approvals, gets them, and lists the undecided ones oldest first', async () => {
    const [a, b] = replicas();
    const now = Date.now();
    const second = approval({ createdAt: now + 2 });
    const first = approval({ createdAt: now });
    const third = approval({ createdAt: now + 5, principal: 'carol' });
    for (const x of [second, third, first]) await a.open(x);
    expect(await b.get(first.id)).toEqual(first);
    expect(await b.get('no-such-id')).toBeUndefined();
    expect((await b.pending()).map((x) => x.id)).toEqual([first.id, second.id, third.id]);
    // A decided approval leaves the list but is still there for its waiting call.
    expect(await b.decide(second.id, decision())).toBe(true);
    expect((await a.pending()).map((x) => x.id)).toEqual([first.id, third.id]);
    expect(await a.get(second.id)).toEqual(second);
    await a.close(first.id);
    expect(await b.get(first.id)).toBeUndefined();
    expect((await b.pending()).map((x) => x.id)).toEqual([third.id]);
    expect(await b.decide(first.id, decision())).toBe(false);
  });

  it('wakes a call waiting on one replica when another decides', async () => {
    const [a, b, prefix] = replicas();
    const x = approval();
    await a.open(x);
    const started = Date.now();
    const waiting = a.wait(x.id, 10_000, live());
    await subscribed(prefix);
    const d = decision('declined', 'dave');
    expect(await b.decide(x.id, d)).toBe(true);
    expect(await waiting).toEqual(d);
    expect(Date.now() - started).toBeLessThan(5_000);
    // The pending approval is gone after the wait, on every replica.
    expect(await a.get(x.id)).toBeUndefined();
    expect(await b.get(x.id)).toBeUndefined();
    expect(await b.pending()).toEqual([]);
  });

  it('still sees a decision made before the wait started', async () => {
    const [a, b] = replicas();
    const x = approval();
    await a.open(x);
    const d = decision();
    expect(await b.decide(x.id, d)).toBe(true);
    const started = Date.now();
    expect(await a.wait(x.id, 10_000, live())).toEqual(d);
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(await a.get(x.id)).toBeUndefined();
    // Again once the subscriber is long connected: nothing is published any more, the stored decision answers.
    const y = approval();
    await a.open(y);
    expect(await b.decide(y.id, d)).toBe(true);
    // A round trip later the published wake-up has reached A's subscriber, before anyone waits on it.
    await admin.ping();
    expect(await a.wait(y.id, 10_000, live())).toEqual(d);
  });

  it('keeps the first decision: a second one is refused, and of two concurrent ones exactly one wins', async () => {
    const [a, b] = replicas();
    const x = approval();
    await a.open(x);
    const first = decision('granted', 'bob');
    expect(await a.decide(x.id, first)).toBe(true);
    expect(await b.decide(x.id, decision('declined', 'eve'))).toBe(false);
    expect(await a.wait(x.id, 5_000, live())).toEqual(first);

    const races = Array.from({ length: 20 }, () => approval({ principal: randomUUID() }));
    for (const r of races) await a.open(r);
    for (const r of races) {
      const yes = decision('granted', 'bob');
      const no = decision('declined', 'eve');
      const [byA, byB] = await Promise.all([a.decide(r.id, yes), b.decide(r.id, no)]);
      expect([byA, byB].filter(Boolean)).toHaveLength(1);
      // The decision the waiting call gets is the winner's.
      expect(await a.wait(r.id, 5_000, live())).toEqual(byA ? yes : no);
    }
  });

  it('resolves undefined at the timeout, and the approval is gone after', async () => {
    const [a, b] = replicas();
    const x = approval();
    await a.open(x);
    const started = Date.now();
    expect(await a.wait(x.id, 150, live())).toBeUndefined();
    expect(Date.now() - started).toBeGreaterThanOrEqual(140);
    expect(await b.get(x.id)).toBeUndefined();
    expect(await b.pending()).toEqual([]);
    expect(await b.decide(x.id, decision())).toBe(false);
  });

  it('resolves undefined when the signal aborts (before or during the wait), and the approval is gone after', async () => {
    const [a, b, prefix] = replicas();
    const x = approval();
    await a.open(x);
    const controller = new AbortController();
    const waiting = a.wait(x.id, 60_000, controller.signal);
    await subscribed(prefix);
    controller.abort();
    expect(await waiting).toBeUndefined();
    expect(await b.get(x.id)).toBeUndefined();
    expect(await b.decide(x.id, decision())).toBe(false);

    const y = approval();
    await a.open(y);
    expect(await a.wait(y.id, 60_000, AbortSignal.abort())).toBeUndefined();
    expect(await b.get(y.id)).toBeUndefined();
  });

  it('lets a pending approval expire at its expiresAt', async () => {
    const [a, b, prefix] = replicas();
    const short = approval({ expiresAt: Date.now() + 200 });
    const long = approval();
    await a.open(short);
    await a.open(long);
    expect((await b.pending()).map((x) => x.id)).toContain(short.id);
    await expect.poll(async () => (await b.pending()).map((x) => x.id), { timeout: 5_000, interval: 50 }).toEqual([long.id]);
    expect(await b.get(short.id)).toBeUndefined();
    expect(await b.decide(short.id, decision())).toBe(false);
    // Its stale member was dropped from the listing set.
    expect(await admin.zrange(`${prefix}pending`, 0, -1)).toEqual([long.id]);
  });

  it('remembers a grant for its TTL, on every replica', async () => {
    const [a, b] = replicas();
    const d = decision();
    expect(await b.remembered('scope:digest')).toBeUndefined();
    await a.remember('scope:digest', d, 300);
    await a.remember('scope:other', d, 60_000);
    expect(await b.remembered('scope:digest')).toEqual(d);
    await expect.poll(() => b.remembered('scope:digest'), { timeout: 5_000, interval: 50 }).toBeUndefined();
    expect(await b.remembered('scope:other')).toEqual(d);
  });

  it('hands a single-use grant to exactly one taker, across replicas', async () => {
    const [a, b] = replicas();
    const d = decision();
    expect(await a.take('once')).toBeUndefined();
    for (let i = 0; i < 20; i++) {
      await a.remember(`once:${i}`, d, 60_000);
      const taken = await Promise.all([a.take(`once:${i}`), b.take(`once:${i}`)]);
      expect(taken.filter((t) => t !== undefined)).toEqual([d]);
      expect(await b.remembered(`once:${i}`)).toBeUndefined();
    }
  });

  it('bounds the pending approvals of one caller, across replicas', async () => {
    const [a, b] = replicas();
    const mine = Array.from({ length: MAX_PENDING_PER_PRINCIPAL }, () => approval({ principal: 'greedy' }));
    for (const [i, x] of mine.entries()) await (i % 2 ? a : b).open(x);
    await expect(a.open(approval({ principal: 'greedy' }))).rejects.toThrow(ApprovalStoreFull);
    await expect(b.open(approval({ principal: 'greedy' }))).rejects.toThrow(/this caller has too many/);
    // Others are not affected, and a closed one makes room.
    await a.open(approval({ principal: 'modest' }));
    await b.close(mine[0]!.id);
    await a.open(approval({ principal: 'greedy' }));
    await expect(b.open(approval({ principal: 'greedy' }))).rejects.toThrow(ApprovalStoreFull);
  });

  it('bounds the pending approvals of the gateway, across replicas', async () => {
    const [a, b] = replicas();
    const all = Array.from({ length: MAX_PENDING }, (_, i) => approval({ principal: `p${i % 200}` }));
    await Promise.all(all.map((x, i) => (i % 2 ? a : b).open(x)));
    const refused = a.open(approval({ principal: 'newcomer' }));
    await expect(refused).rejects.toThrow(ApprovalStoreFull);
    await expect(refused).rejects.toThrow(/too many calls wait/);
    await a.close(all[0]!.id);
    await b.open(approval({ principal: 'newcomer' }));
    await expect(a.open(approval({ principal: 'late' }))).rejects.toThrow(ApprovalStoreFull);
  });

  it('keeps two prefixes apart', async () => {
    const one = store(newPrefix());
    const two = store(newPrefix());
    const x = approval();
    await one.open(x);
    await one.remember('k', decision(), 60_000);
    expect(await two.get(x.id)).toBeUndefined();
    expect(await two.pending()).toEqual([]);
    expect(await two.remembered('k')).toBeUndefined();
    expect(await two.decide(x.id, decision())).toBe(false);
    expect((await one.pending()).map((p) => p.id)).toEqual([x.id]);
    expect(await one.decide(x.id, decision())).toBe(true);
  });

  it('reports down for an unreachable server', async () => {
    const s = store(newPrefix(), `redis://127.0.0.1:${await freePort()}`);
    expect(s.health()).toEqual({ type: 'redis', state: 'up' });
    await expect(s.get('x')).rejects.toThrow(/approval store at redis:\/\/127\.0\.0\.1:\d+ is unreachable/);
    expect(s.health()).toEqual({ type: 'redis', state: 'down' });
  });
});

describe('RedisApprovalStore through an outage', () => {
  let own: RunningRedis;
  beforeAll(async () => {
    own = await startRedis();
  });
  afterAll(async () => {
    await own?.stop();
  });

  it('goes down when Redis stops, up when it is back, and still wakes a call that waited through it', async () => {
    const prefix = newPrefix();
    const a = store(prefix, own.url);
    const b = store(prefix, own.url);
    const x = approval();
    await a.open(x);
    const waiting = a.wait(x.id, 20_000, live());
    await b.pending();
    expect(a.health()).toEqual({ type: 'redis', state: 'up' });

    await own.kill();
    await expect.poll(() => [a.health().state, b.health().state], { timeout: 10_000, interval: 50 }).toEqual(['down', 'down']);
    await expect(b.decide(x.id, decision())).rejects.toThrow(/unreachable/);

    await own.restart();
    await expect.poll(() => [a.health().state, b.health().state], { timeout: 10_000, interval: 50 }).toEqual(['up', 'up']);
    // The restarted server is empty: the approval is opened again, then decided on the other replica.
    await b.open(x);
    const d = decision();
    expect(await b.decide(x.id, d)).toBe(true);
    expect(await waiting).toEqual(d);
    expect(await b.get(x.id)).toBeUndefined();
  });
});
