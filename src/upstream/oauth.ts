/**
 * OAuth to upstream servers, on the SDK's client auth API. Each upstream gets
 * its own credential, never the downstream client's token:
 *
 * - `client_credentials` (machine to machine): the SDK's
 *   `ClientCredentialsProvider` obtains a token from the authorization server;
 *   it is cached for every connection to that server and renewed shortly
 *   before it expires or when the server answers 401.
 * - `authorization_code` (the `.mcp.json` `{ clientId, callbackPort }` form):
 *   an operator runs `switchboard login <server>` once (PKCE, see
 *   oauth-login.ts); the tokens it stores are used here and refreshed with
 *   the refresh token, written back atomically. Without stored tokens the
 *   upstream is down with an error that says which command to run.
 *
 * Both are handed to the transports as an SDK `AuthProvider` (`token()` before
 * every request, `onUnauthorized()` on a 401, after which the transport
 * retries once).
 */
import { createHash } from 'node:crypto';
import {
  ClientCredentialsProvider,
  OAuthError,
  OAuthErrorCode,
  auth,
  discoverOAuthServerInfo,
  extractWWWAuthenticateParams,
  refreshAuthorization,
  type AuthProvider,
  type AuthorizationServerMetadata,
  type FetchLike,
  type OAuthClientInformationMixed,
  type OAuthDiscoveryState,
  type StoredOAuthTokens,
} from '@modelcontextprotocol/client';
import type { HttpServerSpec, UpstreamOAuthSpec } from '../config/schema/index.js';
import { TokenFileError, deleteTokenFile, expiryOf, isStale, readTokenFile, recordOf, writeTokenFile, type TokenRecord } from './token-store.js';

export type AuthCodeSpec = Extract<UpstreamOAuthSpec, { grant: 'authorization_code' }>;
type ClientCredentialsSpec = Extract<UpstreamOAuthSpec, { grant: 'client_credentials' }>;
/** What the transport hands `onUnauthorized` (the SDK does not export the type's name). */
type UnauthorizedContext = Parameters<NonNullable<AuthProvider['onUnauthorized']>>[0];

/** The upstream needs an operator to run `switchboard login <server>` (first time, or its tokens are gone). */
export class LoginRequiredError extends Error {
  constructor(
    readonly server: string,
    why: string,
  ) {
    super(`upstream "${server}" needs an OAuth login (${why}); run: switchboard login ${server}`);
    this.name = 'LoginRequiredError';
  }
}

/** An SDK `AuthProvider` that can also fail fast, before any request is made. */
export interface UpstreamAuth extends AuthProvider {
  /** Throws `LoginRequiredError` when the server cannot be authorized without an operator. */
  prepare(): Promise<void>;
}

/**
 * The auth providers of one gateway's upstreams with `oauth`, one per
 * credential, shared by every connection to that server (so one token serves
 * them all). Owned by the gateway (UpstreamCaches): two gateways in one
 * process never share a token.
 */
export class UpstreamAuths {
  private readonly providers = new Map<string, UpstreamAuth>();

  /** The provider for `server`'s credential; undefined without `oauth`. */
  for(server: string, spec: HttpServerSpec): UpstreamAuth | undefined {
    const oauth = spec.oauth;
    if (!oauth) return undefined;
    // Keyed by everything that shapes the credential; the digest keeps the secret out of the key.
    const key = createHash('sha256')
      .update(JSON.stringify([server, spec.url, oauth]))
      .digest('hex');
    let provider = this.providers.get(key);
    if (!provider) {
      provider = oauth.grant === 'client_credentials' ? new ClientCredentialsAuth(spec.url, oauth) : new StoredTokenAuth(server, spec.url, oauth);
      this.providers.set(key, provider);
    }
    return provider;
  }
}

export function clientInformationOf(oauth: { clientId: string; clientSecret?: string }): OAuthClientInformationMixed {
  return oauth.clientSecret === undefined ? { client_id: oauth.clientId } : { client_id: oauth.clientId, client_secret: oauth.clientSecret };
}

/**
 * The authorization server named in the config (`tokenEndpoint` or
 * `authServerMetadataUrl`), as SDK discovery state: `auth()` then goes there
 * instead of asking the upstream. Undefined when the config names none.
 */
export async function pinnedDiscovery(oauth: UpstreamOAuthSpec, fetchFn: FetchLike = fetch): Promise<OAuthDiscoveryState | undefined> {
  if (oauth.grant === 'client_credentials' && oauth.tokenEndpoint !== undefined) {
    const issuer = new URL(oauth.tokenEndpoint).origin;
    const token_endpoint = oauth.tokenEndpoint;
    const metadata = { issuer, token_endpoint, authorization_endpoint: token_endpoint, response_types_supported: ['code'] };
    return { authorizationServerUrl: issuer, authorizationServerMetadata: metadata as AuthorizationServerMetadata };
  }
  const url = oauth.authServerMetadataUrl;
  if (url === undefined) return undefined;
  const response = await fetchFn(url, { headers: { accept: 'application/json' }, redirect: 'error' });
  if (!response.ok) throw new Error(`authorization server metadata at ${url}: HTTP ${response.status}`);
  const metadata = (await response.json().catch(() => undefined)) as Record<string, unknown> | undefined;
  if (typeof metadata?.issuer !== 'string' || typeof metadata.token_endpoint !== 'string')
    throw new Error(`authorization server metadata at ${url} has no "issuer" or "token_endpoint"`);
  return { authorizationServerUrl: metadata.issuer, authorizationServerMetadata: metadata as AuthorizationServerMetadata };
}

/** `ClientCredentialsProvider` plus what the gateway needs: cached discovery and the token's age. */
class CredentialsProvider extends ClientCredentialsProvider {
  obtainedAt = 0;
  expiresAt?: number;

  constructor(
    oauth: ClientCredentialsSpec,
    issuer: string,
    private discovery: OAuthDiscoveryState,
  ) {
    super({ clientId: oauth.clientId, clientSecret: oauth.clientSecret, scope: oauth.scopes, clientName: 'Switchboard', expectedIssuer: issuer });
  }

  override saveTokens(tokens: StoredOAuthTokens): void {
    super.saveTokens(tokens);
    ({ obtainedAt: this.obtainedAt, expiresAt: this.expiresAt } = expiryOf(tokens));
  }

  discoveryState(): OAuthDiscoveryState {
    return this.discovery;
  }

  saveDiscoveryState(state: OAuthDiscoveryState): void {
    this.discovery = state;
  }
}

class ClientCredentialsAuth implements UpstreamAuth {
  private provider?: Promise<CredentialsProvider>;
  private renewing?: Promise<void>;

  constructor(
    private readonly url: string,
    private readonly oauth: ClientCredentialsSpec,
  ) {}

  async prepare(): Promise<void> {}

  async token(): Promise<string | undefined> {
    const provider = await this.credentials();
    if (!provider.tokens() || isStale(provider)) await this.renew(provider);
    return provider.tokens()?.access_token;
  }

  async onUnauthorized(ctx: UnauthorizedContext): Promise<void> {
    const provider = await this.credentials();
    await this.renew(provider, extractWWWAuthenticateParams(ctx.response).resourceMetadataUrl);
  }

  /** One token request at a time, whoever asks. */
  private renew(provider: CredentialsProvider, resourceMetadataUrl?: URL): Promise<void> {
    this.renewing ??= auth(provider, { serverUrl: this.url, scope: this.oauth.scopes, resourceMetadataUrl })
      .then((result) => {
        if (result !== 'AUTHORIZED') throw new Error('the client credentials grant did not authorize');
      })
      .finally(() => (this.renewing = undefined));
    return this.renewing;
  }

  /**
   * The provider, pinned to one authorization server: the configured one,
   * else the one the upstream names the first time (the secret never goes
   * to another one afterwards).
   */
  private credentials(): Promise<CredentialsProvider> {
    this.provider ??= (async () => {
      const discovery = (await pinnedDiscovery(this.oauth)) ?? (await discoverOAuthServerInfo(this.url));
      const issuer = discovery.authorizationServerMetadata?.issuer ?? discovery.authorizationServerUrl;
      return new CredentialsProvider(this.oauth, issuer, discovery);
    })();
    // A failed discovery is retried by the next request.
    this.provider.catch(() => (this.provider = undefined));
    return this.provider;
  }
}

/** Authorization-code tokens stored by `switchboard login`, refreshed in place. */
class StoredTokenAuth implements UpstreamAuth {
  private record?: TokenRecord;
  private renewing?: Promise<void>;

  constructor(
    private readonly server: string,
    private readonly url: string,
    private readonly oauth: AuthCodeSpec,
  ) {}

  async prepare(): Promise<void> {
    await this.current();
  }

  async token(): Promise<string | undefined> {
    const record = await this.current();
    if (isStale(record)) await this.refresh(record);
    return this.record?.tokens.access_token;
  }

  async onUnauthorized(): Promise<void> {
    const sent = this.record?.tokens.access_token;
    // A new login may have replaced the tokens since they were read.
    const onDisk = await this.load();
    this.record = onDisk;
    if (!onDisk) throw new LoginRequiredError(this.server, 'no stored tokens');
    if (onDisk.tokens.access_token !== sent) return;
    await this.refresh(onDisk);
  }

  private async current(): Promise<TokenRecord> {
    // Read again while there is nothing: the operator may log in at any time.
    this.record ??= await this.load();
    if (!this.record) throw new LoginRequiredError(this.server, 'no stored tokens');
    return this.record;
  }

  private async load(): Promise<TokenRecord | undefined> {
    let record: TokenRecord | undefined;
    try {
      record = await readTokenFile(this.oauth.tokenFile);
    } catch (err) {
      // No paths in this message: it ends up in /readyz.
      if (err instanceof TokenFileError) throw new LoginRequiredError(this.server, `its token file ${err.why}`);
      throw err;
    }
    if (record && (record.url !== this.url || record.clientId !== this.oauth.clientId)) {
      const what = record.url !== this.url ? 'URL' : 'client id';
      throw new LoginRequiredError(this.server, `the stored tokens were issued for another ${what}`);
    }
    return record;
  }

  private refresh(record: TokenRecord): Promise<void> {
    this.renewing ??= this.exchangeRefreshToken(record).finally(() => (this.renewing = undefined));
    return this.renewing;
  }

  private async exchangeRefreshToken(record: TokenRecord): Promise<void> {
    // Another process sharing the state folder (a replica, a new login) may have renewed them already.
    const latest = await this.newerOnDisk(record);
    if (latest && !isStale(latest)) return void (this.record = latest);
    const refreshToken = record.tokens.refresh_token;
    if (!refreshToken) throw new LoginRequiredError(this.server, 'the access token expired and no refresh token was issued');
    // The authorization server found at login; discovery again only for a file written without it.
    const discovery = record.discovery ?? (await pinnedDiscovery(this.oauth)) ?? (await discoverOAuthServerInfo(this.url));
    let tokens: StoredOAuthTokens;
    try {
      tokens = await refreshAuthorization(discovery.authorizationServerUrl, {
        metadata: discovery.authorizationServerMetadata,
        clientInformation: clientInformationOf(this.oauth),
        refreshToken,
        resource: record.resource,
      });
    } catch (err) {
      if (err instanceof OAuthError && err.code === OAuthErrorCode.InvalidGrant) {
        // Rotated meanwhile by another process? Then its tokens are the good ones.
        const rotated = await this.newerOnDisk(record);
        if (rotated) return void (this.record = rotated);
        // The refresh token is dead: only a new login helps, and the old tokens must not be tried again.
        this.record = undefined;
        await deleteTokenFile(this.oauth.tokenFile);
        throw new LoginRequiredError(this.server, 'the authorization server rejected the refresh token');
      }
      throw err;
    }
    const base = { server: this.server, url: this.url, clientId: this.oauth.clientId, resource: record.resource, discovery };
    const next = recordOf(base, { ...tokens, issuer: tokens.issuer ?? record.tokens.issuer });
    await writeTokenFile(this.oauth.tokenFile, next);
    this.record = next;
  }

  /** The file's record, if it holds other tokens than `record`. */
  private async newerOnDisk(record: TokenRecord): Promise<TokenRecord | undefined> {
    const onDisk = await this.load().catch(() => undefined);
    return onDisk && onDisk.tokens.access_token !== record.tokens.access_token ? onDisk : undefined;
  }
}
