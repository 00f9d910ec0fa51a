/**
 * Authenticates an HTTP request from its headers: `Authorization: Bearer
 * <key>` or `X-API-Key: <key>`. The credential is used here and nowhere
 * else: it is never stored, logged or forwarded upstream.
 */
import type { AuthSettings } from '../config/schema.js';
import { GatewayError } from '../errors.js';
import { createApiKeyLookup } from './api-keys.js';
import { ANONYMOUS, type Principal } from './principal.js';

export type HttpAuthenticator = (headers: Record<string, string | string[] | undefined>) => Principal;

export function createHttpAuthenticator(settings: AuthSettings): HttpAuthenticator {
  const lookup = createApiKeyLookup(settings.apiKeys);
  const required = settings.required ?? settings.apiKeys.length > 0;
  // With no credentials configured there is nothing to check a token against:
  // a client (or a proxy) that sends one anyway is simply anonymous.
  if (settings.apiKeys.length === 0 && !required) return () => ANONYMOUS;
  return (headers) => {
    const credential = credentialOf(headers);
    if (credential === undefined) {
      if (required) throw new GatewayError('UNAUTHENTICATED', 'Authentication required: send Authorization: Bearer <key> or X-API-Key', { reason: 'missing' });
      return ANONYMOUS;
    }
    const principal = lookup(credential);
    if (!principal) throw new GatewayError('UNAUTHENTICATED', 'Invalid credential', { reason: 'invalid' });
    return principal;
  };
}

function credentialOf(headers: Record<string, string | string[] | undefined>): string | undefined {
  const authorization = first(headers.authorization);
  if (authorization) {
    const match = /^Bearer\s+(.+)$/i.exec(authorization.trim());
    return match ? match[1]!.trim() : authorization.trim();
  }
  return first(headers['x-api-key'])?.trim() || undefined;
}

function first(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}
