/**
 * Who is calling. Every transport and every credential kind produces the same
 * shape, so policies never care how a caller proved who they are.
 *
 * Principal ids are namespaced by credential kind. A bare id would let one
 * kind impersonate another: a JWT whose `sub` equals an API key's configured
 * id would be that key's principal, with its sessions, groups, rate-limit
 * buckets and stored upstream credentials. Everything keyed by `principal.id`
 * (sessions, rate limits, credential stores, subject tokens, sign-in tickets,
 * audit) therefore keeps the kinds apart without knowing about them.
 *
 *   apikey:<id>         gateway.auth.apiKeys[].id
 *   jwt:<issuer>#<sub>  the configured issuer and id claim (gateway.auth.jwt.claims.id)
 *   stdio:<id>          gateway.stdioPrincipal.id (default "local": stdio:local)
 *   anonymous           no credential, where none is required
 */
import { GatewayError } from './errors.js';

/** How the caller proved who they are. */
export type PrincipalKind = 'apikey' | 'jwt' | 'stdio' | 'anonymous';

/** Who is calling (the shape every credential kind produces). */
export interface Principal {
  /**
   * Namespaced by kind, so that no two kinds can name the same caller:
   * `apikey:<id>`, `jwt:<issuer>#<sub>`, `stdio:<id>`, `anonymous` (below).
   */
  id: string;
  kind: PrincipalKind;
  /** The id without its namespace: the configured key or stdio id, the JWT's id claim; '' for anonymous. */
  subject: string;
  scopes: string[];
  groups: string[];
  claims: Record<string, unknown>;
}

export const PRINCIPAL_KINDS: readonly PrincipalKind[] = ['apikey', 'jwt', 'stdio', 'anonymous'];

/** The id of a principal of `kind` whose un-namespaced id is `subject` (`issuer` for JWTs only). */
export function principalId(kind: PrincipalKind, subject: string, issuer?: string): string {
  switch (kind) {
    case 'anonymous':
      return 'anonymous';
    case 'jwt':
      if (!issuer) throw new TypeError('a JWT principal id needs the issuer');
      return `jwt:${issuer}#${subject}`;
    default:
      return `${kind}:${subject}`;
  }
}

export interface ParsedPrincipalId {
  kind: PrincipalKind;
  subject: string;
  /** JWTs only. */
  issuer?: string;
}

/**
 * The parts of a namespaced id, or undefined if it has no known namespace.
 * A JWT id splits at its first `#` after `jwt:`: an issuer identifier has no
 * fragment (RFC 8414 §2), while a subject may contain `#`.
 */
export function parsePrincipalId(id: string): ParsedPrincipalId | undefined {
  if (id === 'anonymous') return { kind: 'anonymous', subject: '' };
  const colon = id.indexOf(':');
  if (colon <= 0) return undefined;
  const kind = id.slice(0, colon);
  const rest = id.slice(colon + 1);
  if (kind === 'apikey' || kind === 'stdio') return rest === '' ? undefined : { kind, subject: rest };
  if (kind !== 'jwt') return undefined;
  const hash = rest.indexOf('#');
  if (hash <= 0 || hash === rest.length - 1) return undefined;
  return { kind, issuer: rest.slice(0, hash), subject: rest.slice(hash + 1) };
}

/** The caller when authentication is not required and no credential was presented. */
export const ANONYMOUS: Principal = Object.freeze({ id: 'anonymous', kind: 'anonymous', subject: '', scopes: [], groups: [], claims: {} }) as Principal;

interface Spec {
  id: string;
  scopes?: string[];
  groups?: string[];
}

/** The principal of a configured API key (`gateway.auth.apiKeys[]`). */
export function apiKeyPrincipal(spec: Spec): Principal {
  return build('apikey', spec.id, principalId('apikey', spec.id), spec, { auth: 'api-key' });
}

/** The principal of the `--stdio` front (`gateway.stdioPrincipal`). */
export function stdioPrincipal(spec: Spec): Principal {
  return build('stdio', spec.id, principalId('stdio', spec.id), spec, { auth: 'stdio' });
}

/** The principal of a verified bearer JWT: `subject` is its id claim, `issuer` the configured issuer. */
export function jwtPrincipal(issuer: string, subject: string, fields: { scopes: string[]; groups: string[]; claims: Record<string, unknown> }): Principal {
  return build('jwt', subject, principalId('jwt', subject, issuer), fields, fields.claims);
}

function build(kind: PrincipalKind, subject: string, id: string, spec: { scopes?: string[]; groups?: string[] }, claims: Record<string, unknown>): Principal {
  return { id, kind, subject, scopes: [...(spec.scopes ?? [])], groups: [...(spec.groups ?? [])], claims };
}

/**
 * Who made one request of a session owned by `owner`: `current`, the
 * principal the edge authenticated for this request (the HTTP front attaches
 * it), so that a reload that takes away a key's group, or a token with fewer
 * scopes, counts from the next request on. Without one (stdio, whose caller
 * is fixed) it is the owner. The edge has refused another identity on the
 * session already (403); a request that got past it anyway is refused here too.
 */
export function requestPrincipal(owner: Principal, current: Principal | undefined): Principal {
  if (!current) return owner;
  if (current.id !== owner.id) throw new GatewayError('UNAUTHENTICATED', 'This session belongs to another principal', { reason: 'session' });
  return current;
}
