/**
 * Console sign-in through the organisation's IdP: the authorization code flow
 * with PKCE (S256), a state bound to this browser's pending sign-in (bounded,
 * ten minutes), the code exchanged at the IdP's token endpoint for an access
 * token for this gateway (RFC 8707 resource), which is then verified by the
 * gateway's own JWT authenticator like any bearer token. The IdP's endpoints
 * come from its metadata (RFC 8414, else OpenID discovery).
 */
import { createHash, randomBytes } from 'node:crypto';
import { LRUCache } from 'lru-cache';

export interface OidcSettings {
  issuer: string;
  clientId: string;
  clientSecret?: string;
  scopes: string[];
  resource?: string;
}

interface Pending {
  verifier: string;
  redirectUri: string;
}

const MAX_PENDING = 1000;
const PENDING_MS = 10 * 60_000;
const FETCH_TIMEOUT_MS = 10_000;

export class OidcSignIn {
  private readonly pending = new LRUCache<string, Pending>({ max: MAX_PENDING, ttl: PENDING_MS });
  private endpoints?: Promise<{ authorization: string; token: string }>;

  constructor(private readonly settings: OidcSettings) {}

  /** Where to send the browser, for a sign-in that comes back to `redirectUri`. */
  async start(redirectUri: string): Promise<string> {
    const { authorization } = await this.metadata();
    const state = token();
    const verifier = token();
    this.pending.set(state, { verifier, redirectUri });
    const url = new URL(authorization);
    const params: Record<string, string> = {
      response_type: 'code',
      client_id: this.settings.clientId,
      redirect_uri: redirectUri,
      scope: this.settings.scopes.join(' '),
      state,
      code_challenge: createHash('sha256').update(verifier).digest('base64url'),
      code_challenge_method: 'S256',
      ...(this.settings.resource ? { resource: this.settings.resource } : {}),
    };
    for (const [k, v] of Object.entries(params)) url.searchParams.set(k, v);
    return url.toString();
  }

  /** The access token for a callback's code and state; throws for an unknown or used state, or a refused exchange. */
  async finish(code: string, state: string): Promise<string> {
    const pending = this.pending.get(state);
    if (!pending) throw new Error('this sign-in is unknown or expired: start again');
    // A state is good once.
    this.pending.delete(state);
    const { token: endpoint } = await this.metadata();
    const body = new URLSearchParams({
      grant_type: 'authorization_code',
      code,
      redirect_uri: pending.redirectUri,
      client_id: this.settings.clientId,
      code_verifier: pending.verifier,
      ...(this.settings.clientSecret ? { client_secret: this.settings.clientSecret } : {}),
      ...(this.settings.resource ? { resource: this.settings.resource } : {}),
    });
    const res = await fetch(endpoint, { method: 'POST', body, headers: { accept: 'application/json' }, signal: AbortSignal.timeout(FETCH_TIMEOUT_MS) });
    const answer = (await res.json().catch(() => ({}))) as { access_token?: unknown; error?: unknown };
    if (!res.ok || typeof answer.access_token !== 'string')
      throw new Error(`the IdP refused the sign-in (${typeof answer.error === 'string' ? answer.error : res.status})`);
    return answer.access_token;
  }

  private metadata(): Promise<{ authorization: string; token: string }> {
    this.endpoints ??= discover(this.settings.issuer).catch((err: unknown) => {
      // Not cached: the next sign-in asks the IdP again.
      this.endpoints = undefined;
      throw err;
    });
    return this.endpoints;
  }
}

async function discover(issuer: string): Promise<{ authorization: string; token: string }> {
  const base = issuer.replace(/\/$/, '');
  for (const suffix of ['/.well-known/oauth-authorization-server', '/.well-known/openid-configuration']) {
    const res = await fetch(`${base}${suffix}`, { signal: AbortSignal.timeout(FETCH_TIMEOUT_MS) }).catch(() => undefined);
    if (!res?.ok) continue;
    const meta = (await res.json()) as { authorization_endpoint?: unknown; token_endpoint?: unknown };
    if (typeof meta.authorization_endpoint === 'string' && typeof meta.token_endpoint === 'string')
      return { authorization: meta.authorization_endpoint, token: meta.token_endpoint };
  }
  throw new Error(`cannot read the IdP's metadata at ${base}`);
}

function token(): string {
  return randomBytes(32).toString('base64url');
}
