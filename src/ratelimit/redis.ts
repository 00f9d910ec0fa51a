/**
 * Rate-limit buckets in Redis, shared by every replica: N per minute holds
 * for the fleet, not per process. One decision is one round trip: a Lua
 * script reads, checks and spends every bucket atomically on the server, with
 * the server's clock, so replicas with skewed clocks still agree.
 *
 * Redis being unreachable never stalls a call: commands are not queued while
 * disconnected and time out after `timeoutMs`; the configured fail mode then
 * answers at once, the outage is logged once and counted, and ioredis keeps
 * reconnecting by itself.
 */
import { createRedisClient, type Redis } from '../infra/redis.js';
import type { Logger } from '../observability/log.js';
import { bucketId, PER_MS, type RateLimitStore, type TakeResult } from './store.js';
import type { RateLimitSpec } from '../policy/types.js';

export interface RedisStoreSettings {
  url: string;
  prefix: string;
  failMode: 'open' | 'closed';
  timeoutMs: number;
}

export interface StoreHealth {
  type: 'memory' | 'redis';
  state: 'up' | 'down';
  failMode?: 'open' | 'closed';
  error?: string;
}

export interface StoreEvents {
  /** A decision Redis could not make: the fail mode answered it. */
  onFailure?: (failMode: 'open' | 'closed') => void;
  onState?: (up: boolean) => void;
}

/**
 * KEYS: the buckets. ARGV: limit and period (ms) per bucket, in KEYS order.
 * Returns {1} when a token was taken from every bucket, or {0, retryAfterMs,
 * index of the emptiest bucket (1-based)} when none was. Same arithmetic as
 * the memory store (rate-limiter.ts).
 */
const TAKE_SCRIPT = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local levels = {}
local worst, worstAt = -1, 0
for i = 1, #KEYS do
  local limit, per = tonumber(ARGV[2 * i - 1]), tonumber(ARGV[2 * i])
  local b = redis.call('HMGET', KEYS[i], 'tokens', 'at')
  local tokens = limit
  if b[1] then
    tokens = math.min(limit, tonumber(b[1]) + math.max(0, now - tonumber(b[2])) * limit / per)
  end
  levels[i] = tokens
  if tokens + 1e-9 < 1 then
    local wait = math.max(1, math.ceil((1 - tokens) * per / limit - 1e-9))
    if wait > worst then worst, worstAt = wait, i end
  end
end
if worstAt > 0 then return {0, worst, worstAt} end
for i = 1, #KEYS do
  local limit, per = tonumber(ARGV[2 * i - 1]), tonumber(ARGV[2 * i])
  local tokens = math.max(0, levels[i] - 1)
  redis.call('HSET', KEYS[i], 'tokens', string.format('%.17g', tokens), 'at', now)
  -- Gone once it would be full again: a full bucket and no bucket are the same.
  redis.call('PEXPIRE', KEYS[i], math.ceil((limit - tokens) * per / limit) + 1000)
end
return {1}
`;

/** How long a closed-mode refusal tells the caller to wait: about one reconnect attempt. */
const RETRY_WHILE_DOWN_MS = 1_000;

type Take = (keys: string[], args: (string | number)[]) => Promise<[number, number?, number?]>;

export class RedisRateLimitStore implements RateLimitStore {
  private readonly redis: Redis;
  private readonly takeScript: Take;
  private up = false;
  /** Set once the first connection attempt has settled, so the outage log is not a start-up race. */
  private lastError?: string;
  private outageLogged = false;

  constructor(
    private readonly settings: RedisStoreSettings,
    private readonly log: Logger,
    private readonly events: StoreEvents = {},
  ) {
    // A decision must not wait behind a dead server: it fails at once and the fail mode answers.
    this.redis = createRedisClient(settings.url, {
      commandTimeoutMs: settings.timeoutMs,
      connectTimeoutMs: Math.max(1_000, settings.timeoutMs * 4),
      lazyConnect: false,
    });
    this.redis.defineCommand('switchboardTake', { lua: TAKE_SCRIPT });
    const command = (this.redis as unknown as Record<string, (...args: unknown[]) => Promise<[number, number?, number?]>>).switchboardTake!;
    this.takeScript = (keys, args) => command.call(this.redis, keys.length, ...keys, ...args);
    this.redis.on('ready', () => this.markUp());
    this.redis.on('error', (err: Error) => this.markDown(err.message));
    this.redis.on('close', () => this.markDown(this.lastError ?? 'connection closed'));
  }

  async take(keys: string[], limits: RateLimitSpec[], _now: number): Promise<TakeResult> {
    if (keys.length !== limits.length) throw new RangeError('take: keys and limits must have the same length');
    const ids = keys.map((key, i) => this.settings.prefix + bucketId(key, limits[i]!));
    const args = limits.flatMap((l) => [l.limit, PER_MS[l.per]]);
    try {
      const [ok, retryAfterMs, at] = await this.takeScript(ids, args);
      if (ok === 1) return { ok: true };
      return { ok: false, retryAfterMs: retryAfterMs!, limit: limits[at! - 1]! };
    } catch (err) {
      this.markDown(err instanceof Error ? err.message : String(err));
      return this.failed(limits);
    }
  }

  health(): StoreHealth {
    return { type: 'redis', state: this.up ? 'up' : 'down', failMode: this.settings.failMode, error: this.up ? undefined : this.lastError };
  }

  async close(): Promise<void> {
    this.redis.removeAllListeners('close');
    await this.redis.quit().catch(() => this.redis.disconnect());
  }

  /** What the fail mode says when Redis cannot decide. */
  private failed(limits: RateLimitSpec[]): TakeResult {
    this.events.onFailure?.(this.settings.failMode);
    if (this.settings.failMode === 'open') return { ok: true };
    return { ok: false, retryAfterMs: RETRY_WHILE_DOWN_MS, limit: limits[0]!, unavailable: true };
  }

  private markUp(): void {
    if (this.up) return;
    this.up = true;
    if (this.outageLogged) this.log.info('rate-limit store reachable again', { store: 'redis' });
    this.outageLogged = false;
    this.lastError = undefined;
    this.events.onState?.(true);
  }

  private markDown(error: string): void {
    this.lastError = error;
    const wasUp = this.up;
    this.up = false;
    if (!this.outageLogged) {
      // Once per outage: ioredis reports every failed reconnect attempt.
      this.outageLogged = true;
      this.log.warn('rate-limit store unreachable', { store: 'redis', error, failMode: this.settings.failMode });
    }
    if (wasUp) this.events.onState?.(false);
  }
}
