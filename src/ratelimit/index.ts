/**
 * The state replicas may share, behind one small interface each: today the
 * rate-limit buckets. In-memory by default; Redis when several replicas must
 * agree.
 */
import type { RateLimitStoreSettings } from '../config/schema/index.js';
import type { Logger } from '../observability/log.js';
import { MemoryRateLimitStore, type RateLimitStore } from './store.js';
import { RedisRateLimitStore, type StoreEvents, type StoreHealth } from './redis.js';

export type { StoreHealth } from './redis.js';

export interface RateLimitBackend {
  store: RateLimitStore;
  health(): StoreHealth;
  close(): Promise<void>;
}

export function createRateLimitBackend(settings: RateLimitStoreSettings, log: Logger, events: StoreEvents = {}): RateLimitBackend {
  if (settings.type === 'redis') {
    const store = new RedisRateLimitStore(settings, log.child({ component: 'rate-limit-store' }), events);
    return { store, health: () => store.health(), close: () => store.close() };
  }
  const store = new MemoryRateLimitStore({ maxKeys: settings.maxKeys });
  return { store, health: () => ({ type: 'memory', state: 'up' }), close: async () => {} };
}
