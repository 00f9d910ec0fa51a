/**
 * rate-limit: the token buckets the policy names, spent on the decision
 * input authorize left behind; an empty bucket is RATE_LIMITED with the
 * time until the next token. Time is faked: the stage reads Date.now().
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { GatewayError } from '../../../src/core/errors.js';
import type { DecisionInput, RateLimitSpec } from '../../../src/policy/types.js';
import { rateLimit, type LimitSource } from '../../../src/pipeline/rate-limit.js';
import { MemoryRateLimitStore, type RateLimitStore, type TakeResult } from '../../../src/ratelimit/store.js';
import type { CallContext } from '../../../src/pipeline/context.js';
import { engineOf, input } from '../policy/helpers.js';
import { context } from './helpers.js';

beforeEach(() => {
  vi.useFakeTimers({ toFake: ['Date'] });
  vi.setSystemTime(new Date('2026-01-01T00:00:00Z'));
});
afterEach(() => {
  vi.useRealTimers();
});

/** A context as authorize leaves it: with the decision input for server `server`. */
function authorised(server = 'srv', principalId = 'apikey:p'): CallContext {
  const ctx = context('tools/call', { name: 'x', arguments: {} });
  ctx.decisionInput = input({ server: { name: server, transport: 'stdio' }, principal: { id: principalId } });
  return ctx;
}

async function limitedBy(run: () => Promise<void> | void): Promise<GatewayError> {
  try {
    await run();
  } catch (err) {
    expect(err).toBeInstanceOf(GatewayError);
    return err as GatewayError;
  }
  throw new Error('expected RATE_LIMITED, the call went through');
}

describe('rate-limit', () => {
  it('lets calls through while tokens last, then refuses with RATE_LIMITED and retryAfterMs', async () => {
    const engine = engineOf('servers: { srv: { rateLimit: [ { limit: 2, per: minute } ] } }');
    const limited: string[] = [];
    const stage = rateLimit(
      () => engine,
      new MemoryRateLimitStore(),
      (server) => limited.push(server),
    );
    await stage.run(authorised());
    await stage.run(authorised());
    const err = await limitedBy(() => stage.run(authorised()));
    expect(err.code).toBe('RATE_LIMITED');
    expect(err.jsonRpcCode).toBe(-32005);
    expect(err.data).toEqual({ ruleId: 'servers.srv.rateLimit', reason: '2 per minute', retryAfterMs: 30_000 });
    expect(err.message).toBe('Rate limit of 2 per minute reached; retry in 30000 ms');
    expect(limited).toEqual(['srv']);
  });

  it('a token is back after retryAfterMs, not before', async () => {
    const engine = engineOf('servers: { srv: { rateLimit: [ { limit: 1, per: second } ] } }');
    const stage = rateLimit(() => engine, new MemoryRateLimitStore());
    await stage.run(authorised());
    const { retryAfterMs } = (await limitedBy(() => stage.run(authorised()))).data as { retryAfterMs: number };
    expect(retryAfterMs).toBe(1000);
    vi.advanceTimersByTime(retryAfterMs - 1);
    expect((await limitedBy(() => stage.run(authorised()))).data.retryAfterMs).toBe(1);
    vi.advanceTimersByTime(1);
    await expect(stage.run(authorised())).resolves.toBeUndefined();
  });

  it('keeps separate buckets per caller and per server by default', async () => {
    const engine = engineOf('rules: [ { id: per-caller, effect: allow, rateLimit: [ { limit: 1, per: hour } ] } ]');
    const stage = rateLimit(() => engine, new MemoryRateLimitStore());
    await stage.run(authorised('srv', 'apikey:a'));
    await stage.run(authorised('srv', 'apikey:b'));
    await stage.run(authorised('other', 'apikey:a'));
    const err = await limitedBy(() => stage.run(authorised('srv', 'apikey:a')));
    expect(err.data).toMatchObject({ ruleId: 'per-caller', reason: '1 per hour', retryAfterMs: 3_600_000 });
  });

  it('with no limits the stage decides synchronously and does not touch the store', () => {
    const take = vi.fn<RateLimitStore['take']>();
    const stage = rateLimit(() => engineOf('rules: []'), { take });
    expect(stage.run(authorised())).toBeUndefined();
    expect(take).not.toHaveBeenCalled();
  });

  it('without a decision input (authorize did not run) it does nothing', () => {
    const limits = vi.fn<LimitSource['rateLimitsFor']>();
    const take = vi.fn<RateLimitStore['take']>();
    expect(rateLimit(() => ({ rateLimitsFor: limits }), { take }).run(context('tools/call', { name: 'x' }))).toBeUndefined();
    expect(limits).not.toHaveBeenCalled();
    expect(take).not.toHaveBeenCalled();
  });

  it("passes the policy's keys and limits, and the caller clock, to the store", async () => {
    const limits: RateLimitSpec[] = [{ limit: 5, per: 'minute' }];
    const take = vi.fn<RateLimitStore['take']>(async () => ({ ok: true }));
    let asked: DecisionInput | undefined;
    const source: LimitSource = {
      rateLimitsFor(i) {
        asked = i;
        return { limits, keys: ['k|apikey:p/srv'] };
      },
    };
    const ctx = authorised();
    await rateLimit(() => source, { take }).run(ctx);
    expect(asked).toBe(ctx.decisionInput);
    expect(take).toHaveBeenCalledWith(['k|apikey:p/srv'], limits, Date.parse('2026-01-01T00:00:00Z'));
  });

  it('a store that cannot decide and fails closed is RATE_LIMITED too, with its retry time', async () => {
    const unavailable: TakeResult = { ok: false, unavailable: true, retryAfterMs: 1500, limit: { limit: 1, per: 'second' } };
    const limited: string[] = [];
    const source: LimitSource = { rateLimitsFor: () => ({ limits: [{ limit: 1, per: 'second' }], keys: ['k'] }) };
    const err = await limitedBy(() =>
      rateLimit(
        () => source,
        { take: async () => unavailable },
        (s) => limited.push(s),
      ).run(authorised('db')),
    );
    expect(err.code).toBe('RATE_LIMITED');
    expect(err.data).toMatchObject({ ruleId: 'servers.db.rateLimit', retryAfterMs: 1500 });
    expect(String(err.data.reason)).toMatch(/unreachable/);
    expect(limited).toEqual(['db']);
  });

  it('names the rule the policy says set the limit', async () => {
    const source: LimitSource = { rateLimitsFor: () => ({ limits: [{ limit: 1, per: 'day' }], keys: ['k'], ruleId: 'nightly' }) };
    const stage = rateLimit(() => source, new MemoryRateLimitStore());
    await stage.run(authorised());
    expect((await limitedBy(() => stage.run(authorised()))).data).toMatchObject({ ruleId: 'nightly', reason: '1 per day', retryAfterMs: 86_400_000 });
  });

  it('an error from the store is not turned into a rate limit', async () => {
    const source: LimitSource = { rateLimitsFor: () => ({ limits: [{ limit: 1, per: 'second' }], keys: ['k'] }) };
    const boom = new Error('store exploded');
    const onLimited = vi.fn();
    await expect(rateLimit(() => source, { take: () => Promise.reject(boom) }, onLimited).run(authorised())).rejects.toBe(boom);
    expect(onLimited).not.toHaveBeenCalled();
  });
});
