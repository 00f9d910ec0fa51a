/**
 * Bearer JWTs: the gateway as an OAuth resource server. A token is accepted
 * only if it is signed by a key of the configured issuer (a JWKS URL or static
 * keys), with an allowed algorithm, by that issuer, for this gateway (`aud`),
 * and not expired. The principal is built from its claims; the raw token is
 * never kept.
 *
 * The remote JWKS is cached: refetched when older than `jwksCacheMaxAgeMs`,
 * and on an unknown `kid` at most once per `jwksCooldownMs` (concurrent
 * requests share one fetch). A failed fetch keeps the last good key set.
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
  type LocalJWKSet,
} from 'jose';
import type { JwtSettings } from '../config/schema.js';
import { GatewayError } from '../core/errors.js';
import { jwtPrincipal, type Principal } from '../core/principal.js';

export type { JwtSettings };

/** `data.reason` of the UNAUTHENTICATED errors `verify` throws. */
export type JwtFailureReason =
  | 'malformed' // not a JWS compact token, or its header/payload is not JSON
  | 'invalid' // algorithm not allowed, a required claim missing or unusable (exp, nbf, the id claim)
  | 'signature' // no key of the issuer matches, or the signature is wrong
  | 'expired'
  | 'issuer'
  | 'audience'
  | 'unavailable'; // the issuer's keys could not be fetched

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

/** A JWKS response larger than this is refused (a JWKS of a dozen RSA keys is ~10 KB). */
export const MAX_JWKS_BYTES = 256 * 1024;
/** After a failed fetch, no new attempt for this long (at most the cooldown). */
const FAILURE_BACKOFF_MS = 5_000;

export function createJwtVerifier(settings: JwtSettings, options: JwtVerifierOptions): JwtVerifier {
  const configured = settings.audience ?? options.audience;
  const audienceNow = typeof configured === 'function' ? configured : () => configured;
  if (typeof configured !== 'function' && configured.length === 0) throw new TypeError('JWT audience must not be empty');
  const algorithms = [...settings.algorithms];
  const allowed = new Set<string>(algorithms);
  const keys: KeySource = settings.jwksUri
    ? new RemoteKeys(settings.jwksUri, settings, options)
    : new StaticKeys(settings.publicKeys ?? []);
  const scopeClaims = listOf(settings.claims.scopes);
  const groupClaims = listOf(settings.claims.groups);

  return {
    async verify(token) {
      if (!looksLikeJwt(token)) throw failure('malformed', 'Malformed token');
      let header: JWSHeaderParameters;
      try {
        header = decodeProtectedHeader(token) as JWSHeaderParameters;
      } catch (err) {
        throw failure('malformed', 'Malformed token', err);
      }
      // Before any key lookup: a forged header must not make the gateway fetch anything.
      if (typeof header.alg !== 'string' || !allowed.has(header.alg)) throw failure('invalid', 'Token algorithm not allowed');
      const candidates = await keys.candidates(header);
      if (candidates.length === 0) throw failure('signature', 'Token signed by an unknown key');
      const audience = audienceNow();
      // An empty list would accept nothing anyway; say so rather than blame the token.
      if (audience.length === 0) throw new TypeError('JWT audience must not be empty');
      let payload: JWTPayload | undefined;
      for (const [i, key] of candidates.entries()) {
        try {
          ({ payload } = await jwtVerify(token, key, {
            issuer: settings.issuer,
            audience,
            algorithms,
            clockTolerance: settings.clockToleranceSec,
            requiredClaims: ['exp'],
          }));
          break;
        } catch (err) {
          // Several keys may match a kid-less token: only a bad signature moves on to the next.
          if (err instanceof errors.JWSSignatureVerificationFailed && i < candidates.length - 1) continue;
          throw mapJoseError(err);
        }
      }
      if (!payload) throw failure('signature', 'Invalid token signature');
      return principalFrom(payload, settings.issuer, settings.claims.id, scopeClaims, groupClaims);
    },
  };
}

/** The id is `jwt:<configured issuer>#<id claim>` (see principal.ts); `iss` has been checked to be that issuer. */
function principalFrom(payload: JWTPayload, issuer: string, idClaim: string, scopeClaims: string[], groupClaims: string[]): Principal {
  const claims = payload as Record<string, unknown>;
  const rawId = claimAt(claims, idClaim);
  const id = typeof rawId === 'number' && Number.isFinite(rawId) ? String(rawId) : rawId;
  if (typeof id !== 'string' || id === '') throw failure('invalid', `Token has no usable "${idClaim}" claim`);
  const scopes = new Set<string>();
  for (const name of scopeClaims) for (const s of stringsOf(claimAt(claims, name), true)) scopes.add(s);
  const groups = new Set<string>();
  for (const name of groupClaims) for (const g of stringsOf(claimAt(claims, name), false)) groups.add(g);
  return jwtPrincipal(issuer, id, { scopes: [...scopes], groups: [...groups], claims });
}

/** A claim by exact name (`https://example.com/groups` is one name), else by dotted path (`realm_access.roles`). */
function claimAt(claims: Record<string, unknown>, name: string): unknown {
  if (Object.hasOwn(claims, name)) return claims[name];
  if (!name.includes('.')) return undefined;
  let value: unknown = claims;
  for (const segment of name.split('.')) {
    if (value === null || typeof value !== 'object' || Array.isArray(value) || !Object.hasOwn(value, segment)) return undefined;
    value = (value as Record<string, unknown>)[segment];
  }
  return value;
}

/** Scopes: a space-separated string (`scope`) or an array (`scp`). Groups: an array, or one group as a string. */
function stringsOf(value: unknown, split: boolean): string[] {
  if (typeof value === 'string') return split ? value.split(/\s+/).filter(Boolean) : value ? [value] : [];
  if (Array.isArray(value)) return value.filter((v): v is string => typeof v === 'string' && v !== '');
  return [];
}

function listOf(value: string | string[]): string[] {
  return typeof value === 'string' ? [value] : [...value];
}

function failure(reason: JwtFailureReason, message: string, cause?: unknown): GatewayError {
  return new GatewayError('UNAUTHENTICATED', message, { reason }, cause === undefined ? undefined : { cause });
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

interface KeySource {
  /** Keys that may have signed a token with this header; empty when none matches. */
  candidates(header: JWSHeaderParameters): Promise<CryptoKey[]>;
}

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
class StaticKeys implements KeySource {
  private readonly all: LocalJWKSet;
  private readonly kidless: LocalJWKSet | undefined;

  constructor(specs: ReadonlyArray<string | Record<string, unknown>>) {
    if (specs.length === 0) throw new TypeError('gateway.auth.jwt: one of jwksUri and publicKeys is required');
    const jwks = specs.map((spec, i) => toPublicJwk(spec, i));
    this.all = createLocalJWKSet({ keys: jwks });
    const kidless = jwks.filter((k) => k.kid === undefined);
    this.kidless = kidless.length > 0 ? createLocalJWKSet({ keys: kidless }) : undefined;
  }

  async candidates(header: JWSHeaderParameters): Promise<CryptoKey[]> {
    const keys = await select(this.all, header);
    if (keys.length > 0 || header.kid === undefined || !this.kidless) return keys;
    return select(this.kidless, { alg: header.alg });
  }
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

/** `jwksUri`: a cached remote key set. */
class RemoteKeys implements KeySource {
  private readonly url: string;
  private readonly maxAgeMs: number;
  private readonly cooldownMs: number;
  private readonly backoffMs: number;
  private readonly timeoutMs: number;
  private readonly fetchImpl: typeof fetch;
  private readonly now: () => number;
  private set: LocalJWKSet | undefined;
  private fetchedAt = -Infinity;
  private failedAt = -Infinity;
  private kidRefetchAt = -Infinity;
  private pending: Promise<void> | undefined;

  constructor(url: string, settings: JwtSettings, options: JwtVerifierOptions) {
    this.url = new URL(url).href;
    this.maxAgeMs = settings.jwksCacheMaxAgeMs;
    this.cooldownMs = settings.jwksCooldownMs;
    this.backoffMs = Math.min(settings.jwksCooldownMs, FAILURE_BACKOFF_MS);
    this.timeoutMs = options.jwksTimeoutMs ?? 5_000;
    this.fetchImpl = options.fetch ?? fetch;
    this.now = options.now ?? Date.now;
  }

  async candidates(header: JWSHeaderParameters): Promise<CryptoKey[]> {
    const fetchedNow = await this.ensureFresh();
    const keys = await select(this.set!, header);
    if (keys.length > 0) return keys;
    // Unknown key: the issuer may have rotated. Join a fetch under way, or start one
    // unless this request has just fetched or one was triggered within the cooldown.
    if (this.pending) {
      await this.pending.catch(() => {});
      return select(this.set!, header);
    }
    if (fetchedNow || this.now() - this.kidRefetchAt < this.cooldownMs) return [];
    this.kidRefetchAt = this.now();
    try {
      await this.refresh();
    } catch (err) {
      throw failure('unavailable', 'The token issuer\'s keys are unavailable', err);
    }
    return select(this.set!, header);
  }

  /** Makes sure a key set is loaded and, if possible, not older than the max age. True if this call fetched it. */
  private async ensureFresh(): Promise<boolean> {
    if (this.set && this.now() - this.fetchedAt < this.maxAgeMs) return false;
    if (!this.pending && this.now() - this.failedAt < this.backoffMs) {
      if (this.set) return false; // stale keys beat none while the issuer is unreachable
      throw failure('unavailable', 'The token issuer\'s keys are unavailable');
    }
    try {
      await this.refresh();
      return true;
    } catch (err) {
      if (this.set) return false;
      throw failure('unavailable', 'The token issuer\'s keys are unavailable', err);
    }
  }

  /** One fetch at a time; callers arriving meanwhile share it. */
  private refresh(): Promise<void> {
    this.pending ??= this.fetchJwks().then(
      (jwks) => {
        this.set = createLocalJWKSet(jwks);
        this.fetchedAt = this.now();
      },
      (err: unknown) => {
        this.failedAt = this.now();
        throw err;
      },
    ).finally(() => {
      this.pending = undefined;
    });
    return this.pending;
  }

  private async fetchJwks(): Promise<JSONWebKeySet> {
    const response = await this.fetchImpl(this.url, {
      method: 'GET',
      headers: { accept: 'application/jwk-set+json, application/json' },
      redirect: 'manual',
      signal: AbortSignal.timeout(this.timeoutMs),
    });
    if (response.status !== 200) {
      await response.body?.cancel().catch(() => {});
      throw new Error(`JWKS request answered ${response.status}`);
    }
    const text = await readCapped(response, MAX_JWKS_BYTES);
    const jwks = JSON.parse(text) as unknown;
    if (!isKeySet(jwks)) throw new Error('JWKS response is not a JSON Web Key Set');
    // Private or symmetric members are never trusted for verification.
    return { keys: jwks.keys.filter((k) => k.kty !== 'oct' && !('d' in k)) };
  }
}

function isKeySet(value: unknown): value is JSONWebKeySet {
  return (
    typeof value === 'object' &&
    value !== null &&
    Array.isArray((value as { keys?: unknown }).keys) &&
    (value as { keys: unknown[] }).keys.every((k) => typeof k === 'object' && k !== null && !Array.isArray(k))
  );
}

async function readCapped(response: Response, maxBytes: number): Promise<string> {
  const declared = Number(response.headers.get('content-length'));
  if (Number.isFinite(declared) && declared > maxBytes) {
    await response.body?.cancel().catch(() => {});
    throw new Error(`JWKS response larger than ${maxBytes} bytes`);
  }
  if (!response.body) return '';
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > maxBytes) {
      await reader.cancel().catch(() => {});
      throw new Error(`JWKS response larger than ${maxBytes} bytes`);
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString('utf8');
}
