/**
 * Enterprise-Managed Authorization (credentials "id-jag", the MCP extension
 * of SEP-990): per caller, the gateway asks the organisation's IdP for an
 * identity assertion authorization grant (ID-JAG) by RFC 8693 token exchange
 * of the caller's validated token (audience: the upstream's authorization
 * server, resource: the upstream), then redeems it at that authorization
 * server with the RFC 7523 jwt-bearer grant, as its own client there. The
 * access token it gets is the upstream's Bearer, cached per (principal,
 * server) until shortly before it expires. The caller's own token goes to
 * the IdP only; the ID-JAG to the upstream's authorization server only.
 * Both legs are the SDK's (`requestJwtAuthorizationGrant`,
 * `exchangeJwtAuthGrant`); where the authorization server is, id-jag-target.ts.
 */
import { exchangeJwtAuthGrant, requestJwtAuthorizationGrant, selectClientAuthMethod, type FetchLike } from '@modelcontextprotocol/client';
import { LRUCache } from 'lru-cache';
import type { ServerConfig } from '../config/schema/index.js';
import { IdJagTargets, type IdJagTarget } from './id-jag-target.js';
import { IdJagError, refusalOf } from './id-jag-errors.js';
import type { ExchangedToken } from './token-exchange.js';
import { subjectOf } from './user-oauth.js';

export { IdJagError } from './id-jag-errors.js';

type IdJagSettings = NonNullable<ServerConfig['idJag']>;

/** A redeemed token this close to expiry is obtained anew. */
const RENEW_AHEAD_MS = 30_000;
/** Without `expires_in`, a redeemed token is kept this long. */
const DEFAULT_LIFETIME_S = 300;
const TIMEOUT_MS = 10_000;

/** Each leg's requests: bounded in time, and never following a redirect elsewhere (the SDK keeps them within the origin). */
const timedFetch: FetchLike = (url, init) => fetch(url, { ...init, signal: AbortSignal.timeout(TIMEOUT_MS) });

export class IdJagExchanger {
  private readonly cache = new LRUCache<string, ExchangedToken>({ max: 10_000 });
  /** One ID-JAG flow at a time per (principal, server): concurrent calls share it. */
  private readonly running = new Map<string, Promise<ExchangedToken>>();
  private readonly targets = new IdJagTargets(timedFetch);

  /** `onEvent` counts flows (metrics), as token exchanges. */
  constructor(private readonly onEvent: (server: string, outcome: 'ok' | 'failed') => void = () => {}) {}

  /** A token for `server` obtained for the caller whose validated token is `subjectToken`, cached. */
  tokenFor(principal: string, subjectToken: string, server: ServerConfig): Promise<ExchangedToken> {
    const key = `${principal}\u0000${server.name}`;
    const cached = this.cache.get(key);
    if (cached && cached.expiresAt - Date.now() > RENEW_AHEAD_MS) return Promise.resolve(cached);
    let flow = this.running.get(key);
    if (!flow) {
      flow = this.obtain(key, subjectToken, server).finally(() => this.running.delete(key));
      this.running.set(key, flow);
    }
    return flow;
  }

  /** After the upstream refused the token: the next call goes through the flow anew. */
  forget(principal: string, server: string): void {
    this.cache.delete(`${principal}\u0000${server}`);
  }

  private async obtain(key: string, subjectToken: string, server: ServerConfig): Promise<ExchangedToken> {
    let token: ExchangedToken;
    try {
      const target = await this.targets.of(server);
      token = await redeem(await requestGrant(subjectToken, server.idJag!, target), server.idJag!, target);
    } catch (err) {
      this.onEvent(server.name, 'failed');
      throw err;
    }
    this.onEvent(server.name, 'ok');
    this.cache.set(key, token, { ttl: Math.max(1, token.expiresAt - Date.now()) });
    return token;
  }
}

/** First leg: the caller's token for an ID-JAG, at the IdP (RFC 8693, `requested_token_type` id-jag). */
async function requestGrant(subjectToken: string, settings: IdJagSettings, target: IdJagTarget): Promise<string> {
  try {
    const grant = await requestJwtAuthorizationGrant({
      tokenEndpoint: settings.idpTokenEndpoint,
      audience: settings.audience ?? target.issuer,
      resource: settings.resource ?? target.resource,
      idToken: subjectToken,
      clientId: settings.clientId,
      clientSecret: settings.clientSecret,
      scope: settings.scope,
      fetchFn: timedFetch,
    });
    return grant.jwtAuthGrant;
  } catch (err) {
    throw new IdJagError('idp', `the identity provider refused to issue an ID-JAG (${refusalOf(err)})`);
  }
}

/** Second leg: the ID-JAG for an access token, at the upstream's authorization server (RFC 7523 jwt-bearer). */
async function redeem(jwtAuthGrant: string, settings: IdJagSettings, target: IdJagTarget): Promise<ExchangedToken> {
  const { clientId, clientSecret } = settings.upstreamClient;
  const client = { client_id: clientId, ...(clientSecret ? { client_secret: clientSecret } : {}) };
  try {
    const tokens = await exchangeJwtAuthGrant({
      tokenEndpoint: target.tokenEndpoint,
      jwtAuthGrant,
      clientId,
      clientSecret,
      authMethod: selectClientAuthMethod(client, target.authMethods),
      fetchFn: timedFetch,
    });
    const lifetimeS = typeof tokens.expires_in === 'number' ? tokens.expires_in : DEFAULT_LIFETIME_S;
    return { accessToken: tokens.access_token, expiresAt: Date.now() + lifetimeS * 1000, subject: subjectOf(tokens.access_token) };
  } catch (err) {
    throw new IdJagError('authorization-server', `the upstream's authorization server refused the ID-JAG (${refusalOf(err)})`);
  }
}
