/**
 * Authenticates an HTTP request from its headers: `Authorization: Bearer
 * <token>` (a JWT when one is configured and the token looks like one, else an
 * API key) or `X-API-Key: <key>` (always an API key). The credential is used
 * here and nowhere else: it is never logged or forwarded upstream (a JWT is
 * held in memory for RFC 8693 exchange, see subject-tokens.ts).
 * Every kind of credential yields the same Principal shape.
 */
import type { AuthSettings } from '../config/schema/index.js';
import { GatewayError } from '../core/errors.js';
import { createApiKeyLookup } from './api-keys.js';
import { looksLikeJwt, type JwtVerifier } from './jwt.js';
import { ANONYMOUS, type Principal } from '../core/principal.js';
import type { SubjectTokens } from './subject-tokens.js';

/** Resolves to the caller; rejects with GatewayError('UNAUTHENTICATED', …, { reason }). */
export type HttpAuthenticator = (headers: Record<string, string | string[] | undefined>) => Promise<Principal>;

export interface HttpAuthenticatorOptions {
  /** Required when `settings.jwt` is set (see `createJwtVerifier`). */
  jwt?: JwtVerifier;
  /** Where a verified JWT is kept for token exchange (the gateway's own store). */
  subjectTokens?: SubjectTokens;
}

/**
 * `data.reason`: 'missing' (no credential while one is required), 'invalid'
 * (an unknown API key), or a JWT failure reason (see `JwtFailureReason`).
 */
export function createHttpAuthenticator(settings: AuthSettings, options: HttpAuthenticatorOptions = {}): HttpAuthenticator {
  const { jwt } = options;
  if (settings.jwt && !jwt) throw new TypeError('gateway.auth.jwt is configured but no JWT verifier was given');
  const lookup = createApiKeyLookup(settings.apiKeys);
  const required = settings.required ?? (settings.apiKeys.length > 0 || jwt !== undefined);
  // With no credentials configured there is nothing to check a token against:
  // a client (or a proxy) that sends one anyway is simply anonymous.
  if (settings.apiKeys.length === 0 && !jwt && !required) return async () => ANONYMOUS;
  return async (headers) => {
    const credential = credentialOf(headers);
    if (credential === undefined) {
      if (required)
        throw new GatewayError('UNAUTHENTICATED', 'Authentication required: send Authorization: Bearer <token> or X-API-Key', { reason: 'missing' });
      return ANONYMOUS;
    }
    if (jwt && credential.bearer && looksLikeJwt(credential.value)) {
      const principal = await jwt.verify(credential.value);
      // Kept in memory for token exchange only (credentials "token-exchange"); never forwarded as is.
      options.subjectTokens?.hold(principal.id, credential.value, typeof principal.claims.exp === 'number' ? principal.claims.exp : undefined);
      return principal;
    }
    const principal = lookup(credential.value);
    if (!principal) throw new GatewayError('UNAUTHENTICATED', 'Invalid credential', { reason: 'invalid' });
    return principal;
  };
}

/** `bearer`: it came as `Authorization: Bearer …` (only those may be JWTs). */
function credentialOf(headers: Record<string, string | string[] | undefined>): { value: string; bearer: boolean } | undefined {
  const authorization = first(headers.authorization)?.trim();
  if (authorization) {
    const match = /^Bearer\s+(.+)$/i.exec(authorization);
    return match ? { value: match[1]!.trim(), bearer: true } : { value: authorization, bearer: false };
  }
  const key = first(headers['x-api-key'])?.trim();
  return key ? { value: key, bearer: false } : undefined;
}

function first(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}
