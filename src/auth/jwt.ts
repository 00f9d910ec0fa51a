/**
 * Bearer JWTs: the gateway as an OAuth resource server. A token is accepted
 * only if it is signed by a key of the configured issuer (a JWKS URL or static
 * keys), with an allowed algorithm, by that issuer, for this gateway (`aud`),
 * and not expired. The principal is built from its claims (jwt-claims.ts); the
 * raw token is never kept.
 *
 * This is the only import of jose: the verification, the key sets and their
 * selection by header live here; the remote set's caching (jwks-cache.ts) and
 * fetching (jwks-fetch.ts) do not need the library.
 */
import { createPublicKey } from 'node:crypto';
import {
  createLocalJWKSet,
  decodeProtectedHeader,
  errors,
  jwtVerify,
  type CryptoKey,
  type JSONWebKeySet,
  type JWK,
  type JWSHeaderParameters,
  type JWTPayload,
  type JWTVerifyOptions,
  type LocalJWKSet,
} from 'jose';
import type { JwtSettings } from '../config/schema/index.js';
import type { GatewayError } from '../core/errors.js';
import type { Principal } from '../core/principal.js';
import { RemoteKeySet } from './jwks-cache.js';
import { fetchJwks } from './jwks-fetch.js';
import { claimMapping, principalFromClaims } from './jwt-claims.js';
import { jwtFailure as failure } from './jwt-failure.js';
import { VerifiedTokens } from './verified-tokens.js';

export type { JwtSettings };
export type { JwtFailureReason } from './jwt-failure.js';

export interface JwtVerifier {
  /** Throws GatewayError('UNAUTHENTICATED', …, { reason: JwtFailureReason }). */
  verify(token: string): Promise<Principal>;
}

export interface JwtVerifierOptions {
  /**
   * Accepted `aud` values when `settings.audience` is not set: the gateway's
   * canonical resource URL(s). A function is asked on every verification (for
   * a URL known only once the server is listening, e.g. on port 0).
   */
  audience: string | string[] | (() => string | string[]);
  /** Used to fetch the JWKS (tests, proxies). */
  fetch?: typeof fetch;
  /** Clock of the JWKS cache, in ms (tests). Token times are checked against the real clock. */
  now?: () => number;
  /** JWKS request timeout; default 5000 ms. */
  jwksTimeoutMs?: number;
}

/** Three base64url segments: what is routed to the JWT verifier rather than to API keys. */
const JWT_SHAPE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;

export function looksLikeJwt(token: string): boolean {
  return JWT_SHAPE.test(token);
}

/** After a failed fetch, no new attempt for this long (at most the cooldown). */
const FAILURE_BACKOFF_MS = 5_000;

export function createJwtVerifier(settings: JwtSettings, options: JwtVerifierOptions): JwtVerifier {
  const configured = settings.audience ?? options.audience;
  const audienceNow = typeof configured === 'function' ? configured : () => configured;
  if (typeof configured !== 'function' && configured.length === 0) throw new TypeError('JWT audience must not be empty');
  const algorithms = [...settings.algorithms];
  const allowed = new Set<string>(algorithms);
  const keys = settings.jwksUri ? remoteKeys(settings.jwksUri, settings, options) : staticKeys(settings.publicKeys ?? []);
  const mapping = claimMapping(settings);

  const verified = new VerifiedTokens();

  return {
    async verify(token) {
      const known = verified.get(token, audienceNow());
      if (known) return known;
      const header = protectedHeader(token);
      // Before any key lookup: a forged header must not make the gateway fetch anything.
      if (typeof header.alg !== 'string' || !allowed.has(header.alg)) throw failure('invalid', 'Token algorithm not allowed');
      const candidates = await keys(header);
      if (candidates.length === 0) throw failure('signature', 'Token signed by an unknown key');
      const audience = audienceNow();
      // An empty list would accept nothing anyway; say so rather than blame the token.
      if (audience.length === 0) throw new TypeError('JWT audience must not be empty');
      const payload = await verifyWithAny(token, candidates, {
        issuer: settings.issuer,
        audience,
        algorithms,
        clockTolerance: settings.clockToleranceSec,
        requiredClaims: ['exp'],
      });
      const principal = principalFromClaims(payload as Record<string, unknown>, mapping);
      verified.set(token, audience, principal);
      return principal;
    },
  };
}

/** The header of a JWS compact token; `malformed` when it is not one. */
function protectedHeader(token: string): JWSHeaderParameters {
  if (!looksLikeJwt(token)) throw failure('malformed', 'Malformed token');
  try {
    return decodeProtectedHeader(token) as JWSHeaderParameters;
  } catch (err) {
    throw failure('malformed', 'Malformed token', err);
  }
}

/** The payload once one of the keys verifies the token and its claims. */
async function verifyWithAny(token: string, candidates: CryptoKey[], checks: JWTVerifyOptions): Promise<JWTPayload> {
  for (const [i, key] of candidates.entries()) {
    try {
      return (await jwtVerify(token, key, checks)).payload;
    } catch (err) {
      // Several keys may match a kid-less token: only a bad signature moves on to the next.
      if (err instanceof errors.JWSSignatureVerificationFailed && i < candidates.length - 1) continue;
      throw mapJoseError(err);
    }
  }
  throw failure('signature', 'Invalid token signature');
}

/** jose's errors as reasons; messages say what is wrong, never what the token contained. */
function mapJoseError(err: unknown): GatewayError {
  if (err instanceof errors.JWTExpired) return failure('expired', 'Token expired', err);
  if (err instanceof errors.JWTClaimValidationFailed) {
    if (err.claim === 'iss') return failure('issuer', 'Token issuer not accepted', err);
    if (err.claim === 'aud') return failure('audience', 'Token audience is not this gateway', err);
    return failure('invalid', `Token claim "${err.claim}" is missing or invalid`, err);
  }
  if (err instanceof errors.JWSSignatureVerificationFailed) return failure('signature', 'Invalid token signature', err);
  if (err instanceof errors.JOSEAlgNotAllowed) return failure('invalid', 'Token algorithm not allowed', err);
  if (err instanceof errors.JWSInvalid || err instanceof errors.JWTInvalid) return failure('malformed', 'Malformed token', err);
  return failure('invalid', 'Invalid token', err);
}

// ---------------------------------------------------------------------------
// Keys

/** Keys that may have signed a token with this header; empty when none matches. */
type KeySource = (header: JWSHeaderParameters) => Promise<CryptoKey[]>;

/** The keys of `set` that fit the header (jose selects by alg/kty/crv, kid, use and key_ops). */
async function select(set: LocalJWKSet, header: JWSHeaderParameters): Promise<CryptoKey[]> {
  try {
    return [await set(header)];
  } catch (err) {
    if (err instanceof errors.JWKSNoMatchingKey) return [];
    if (err instanceof errors.JWKSMultipleMatchingKeys) {
      const keys: CryptoKey[] = [];
      for await (const key of err) keys.push(key);
      return keys;
    }
    throw failure('invalid', 'Token key cannot be used', err);
  }
}

/** `publicKeys`: JWKs and PEM strings. A key without `kid` may verify any token of its type. */
function staticKeys(specs: ReadonlyArray<string | Record<string, unknown>>): KeySource {
  if (specs.length === 0) throw new TypeError('gateway.auth.jwt: one of jwksUri and publicKeys is required');
  const jwks = specs.map((spec, i) => toPublicJwk(spec, i));
  const all = createLocalJWKSet({ keys: jwks });
  const kidlessKeys = jwks.filter((k) => k.kid === undefined);
  const kidless = kidlessKeys.length > 0 ? createLocalJWKSet({ keys: kidlessKeys }) : undefined;
  return async (header) => {
    const keys = await select(all, header);
    if (keys.length > 0 || header.kid === undefined || !kidless) return keys;
    return select(kidless, { alg: header.alg });
  };
}

function toPublicJwk(spec: string | Record<string, unknown>, index: number): JWK {
  const where = `gateway.auth.jwt.publicKeys[${index}]`;
  if (typeof spec === 'string') {
    if (/PRIVATE KEY/.test(spec)) throw new TypeError(`${where}: must be a public key`);
    try {
      return createPublicKey(spec).export({ format: 'jwk' }) as JWK;
    } catch (cause) {
      throw new TypeError(`${where}: not a PEM public key`, { cause });
    }
  }
  if (typeof spec.kty !== 'string' || spec.kty === 'oct' || 'd' in spec) throw new TypeError(`${where}: must be a public JWK`);
  return { ...spec } as JWK;
}

/** `jwksUri`: a cached remote key set (jwks-cache.ts), fetched by jwks-fetch.ts. */
function remoteKeys(jwksUri: string, settings: JwtSettings, options: JwtVerifierOptions): KeySource {
  const url = new URL(jwksUri).href;
  const request = { fetch: options.fetch ?? fetch, timeoutMs: options.jwksTimeoutMs ?? 5_000 };
  const cache = new RemoteKeySet(async () => createLocalJWKSet((await fetchJwks(url, request)) as JSONWebKeySet), {
    maxAgeMs: settings.jwksCacheMaxAgeMs,
    cooldownMs: settings.jwksCooldownMs,
    backoffMs: Math.min(settings.jwksCooldownMs, FAILURE_BACKOFF_MS),
    now: options.now ?? Date.now,
  });
  return (header) => cache.candidates((set) => select(set, header));
}
