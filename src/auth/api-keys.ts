/**
 * API keys: the gateway stores only their SHA-256, so a leaked config file
 * leaks no key. A presented key is hashed and looked up.
 */
import { createHash } from 'node:crypto';
import type { ApiKeySpec } from '../config/schema/index.js';
import { apiKeyPrincipal, type Principal } from '../core/principal.js';

export function hashKey(key: string): string {
  return createHash('sha256').update(key, 'utf8').digest('hex');
}

export type ApiKeyLookup = (key: string) => Principal | undefined;

export function createApiKeyLookup(keys: readonly ApiKeySpec[]): ApiKeyLookup {
  const byHash = new Map(keys.map((k) => [k.sha256.toLowerCase(), apiKeyPrincipal(k)]));
  return (key) => {
    const principal = byHash.get(hashKey(key));
    // A copy: policies and sessions must not be able to change the table.
    return principal && { ...principal, scopes: [...principal.scopes], groups: [...principal.groups] };
  };
}
