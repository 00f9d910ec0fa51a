/**
 * Users' own upstream credentials: the store `gateway.credentials` chooses
 * (an encrypted file, or Redis shared by replicas).
 */
import type { GatewaySettings } from '../config/schema/index.js';
import type { Logger } from '../observability/log.js';
import { CachedCredentialStore } from './store/cached.js';
import { FileCredentialStore } from './store/file.js';
import { RedisCredentialStore } from './store/redis.js';
import type { CredentialStore } from './store.js';

export type { CredentialStore, CredentialSummary, UserCredential } from './store.js';
export { summaryOf } from './store.js';
export { CredentialStoreError, WRONG_KEY_MESSAGE, type CredentialStoreFailure } from './store/crypto.js';
export { FileCredentialStore, type FileStoreOptions } from './store/file.js';
export { RedisCredentialStore, type RedisCredentialStoreSettings } from './store/redis.js';

/** The store the settings describe; nothing is read or connected until it is first used. */
export function createCredentialStore(settings: NonNullable<GatewaySettings['credentials']>, log: Logger): CredentialStore {
  const { key, store } = settings;
  const backing =
    store.type === 'redis'
      ? new RedisCredentialStore({ url: store.url, prefix: store.prefix, key }, log.child({ component: 'credentials' }))
      : new FileCredentialStore(store.path, key);
  return new CachedCredentialStore(backing);
}

/** Where the store lives, for messages (a Redis URL without its password). */
export function describeCredentialStore(settings: NonNullable<GatewaySettings['credentials']>): string {
  const { store } = settings;
  if (store.type === 'file') return store.path;
  try {
    const u = new URL(store.url);
    return `${u.protocol}//${u.host} (prefix "${store.prefix}")`;
  } catch {
    return `redis (prefix "${store.prefix}")`;
  }
}
