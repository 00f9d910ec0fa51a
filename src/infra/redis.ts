/**
 * The only import site of ioredis. Every Redis client of the gateway (the
 * shared rate-limit store, the shared credential store) fails at once while
 * disconnected instead of queueing work behind a dead server, retries its
 * connection with a capped backoff, and pipelines the commands of one turn.
 */
import { Redis } from 'ioredis';

export type { Redis };

export interface RedisClientOptions {
  /** The longest one command may take. */
  commandTimeoutMs: number;
  connectTimeoutMs: number;
  /** Connect on first use instead of at once. */
  lazyConnect: boolean;
}

export function createRedisClient(url: string, options: RedisClientOptions): Redis {
  return new Redis(url, {
    lazyConnect: options.lazyConnect,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    commandTimeout: options.commandTimeoutMs,
    connectTimeout: options.connectTimeoutMs,
    retryStrategy: (attempt) => Math.min(100 * 2 ** Math.min(attempt, 5), 2_000),
    // Commands issued in the same turn share one write to Redis.
    enableAutoPipelining: true,
  });
}
