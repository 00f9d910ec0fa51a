/**
 * RFC 8693 token exchange (credentials "token-exchange"): the caller's
 * validated bearer token is traded at the organisation's token endpoint for a
 * token whose audience is one upstream. The upstream sees the caller's
 * identity in a token made for it; the caller's own token never leaves the
 * gateway except to the token endpoint that issued it. Exchanged tokens are
 * cached per (principal, server) until shortly before they expire.
 */
import { LRUCache } from 'lru-cache';
import type { ServerConfig } from '../config/schema/index.js';
import { subjectOf } from './user-oauth.js';

const GRANT = 'urn:ietf:params:oauth:grant-type:token-exchange';
const ACCESS_TOKEN = 'urn:ietf:params:oauth:token-type:access_token';
/** An exchanged token this close to expiry is exchanged again. */
const RENEW_AHEAD_MS = 30_000;
const TIMEOUT_MS = 10_000;

export interface ExchangedToken {
  accessToken: string;
  expiresAt: number;
  subject?: string;
}

export class TokenExchangeError extends Error {
  override readonly name = 'TokenExchangeError';
}

export class TokenExchanger {
  private readonly cache = new LRUCache<string, ExchangedToken>({ max: 10_000 });

  /** `onEvent` counts exchanges (metrics). */
  constructor(private readonly onEvent: (server: string, outcome: 'ok' | 'failed') => void = () => {}) {}

  /** A token for `server` in exchange for `subjectToken` (the caller's own, validated), cached. */
  async tokenFor(principal: string, subjectToken: string, server: ServerConfig): Promise<ExchangedToken> {
    const key = `${principal}\u0000${server.name}`;
    const cached = this.cache.get(key);
    if (cached && cached.expiresAt - Date.now() > RENEW_AHEAD_MS) return cached;
    let exchanged: ExchangedToken;
    try {
      exchanged = await exchange(subjectToken, server);
    } catch (err) {
      this.onEvent(server.name, 'failed');
      throw err;
    }
    this.onEvent(server.name, 'ok');
    this.cache.set(key, exchanged, { ttl: Math.max(1, exchanged.expiresAt - Date.now()) });
    return exchanged;
  }

  /** After the upstream refused the token: the next call exchanges anew. */
  forget(principal: string, server: string): void {
    this.cache.delete(`${principal}\u0000${server}`);
  }
}

async function exchange(subjectToken: string, server: ServerConfig): Promise<ExchangedToken> {
  const settings = server.tokenExchange!;
  const audience = settings.audience ?? (server.spec.type === 'stdio' ? '' : server.spec.url);
  const body = new URLSearchParams({
    grant_type: GRANT,
    subject_token: subjectToken,
    subject_token_type: ACCESS_TOKEN,
    requested_token_type: ACCESS_TOKEN,
    audience,
    resource: audience,
  });
  if (settings.scope) body.set('scope', settings.scope);
  const basic = Buffer.from(`${encodeURIComponent(settings.clientId)}:${encodeURIComponent(settings.clientSecret)}`).toString('base64');
  let response: Response;
  try {
    response = await fetch(settings.tokenEndpoint, {
      method: 'POST',
      headers: { authorization: `Basic ${basic}`, 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
      body,
      redirect: 'error',
      signal: AbortSignal.timeout(TIMEOUT_MS),
    });
  } catch (err) {
    throw new TokenExchangeError(`the token endpoint could not be reached (${err instanceof Error ? err.message : String(err)})`);
  }
  const json = (await response.json().catch(() => undefined)) as Record<string, unknown> | undefined;
  if (!response.ok || typeof json?.access_token !== 'string') {
    // The endpoint's own error code only: its description may echo what was sent.
    const code = typeof json?.error === 'string' ? json.error : `HTTP ${response.status}`;
    throw new TokenExchangeError(`the token endpoint refused the exchange (${code})`);
  }
  const expiresIn = typeof json.expires_in === 'number' ? json.expires_in : 300;
  return { accessToken: json.access_token, expiresAt: Date.now() + expiresIn * 1000, subject: subjectOf(json.access_token) };
}
