/**
 * Refreshing a user's stored upstream tokens through the SDK's `auth()`, so
 * that a credential is only ever used at the authorization server that
 * issued it. The stored tokens and client carry that server's issuer as the
 * SDK's SEP-2352 stamp; `auth()` discovers the upstream's authorization
 * server anew (RFC 9728, RFC 8414) and, when the upstream now names another
 * one, refuses (`AuthorizationServerMismatchError`) instead of sending the
 * refresh token or the client's secret there. The user then signs in again.
 */
import {
  auth,
  type OAuthClientMetadata,
  type OAuthClientProvider,
  type StoredOAuthClientInformation,
  type StoredOAuthTokens,
} from '@modelcontextprotocol/client';
import type { UserCredential } from './store.js';

/** The tokens a refresh obtained; throws when the authorization server would not refresh (or is not the one that issued them). */
export async function refreshStored(credential: UserCredential, serverUrl: string, redirectUrl: string): Promise<StoredOAuthTokens> {
  const provider = new RefreshProvider(credential, redirectUrl);
  const result = await auth(provider, { serverUrl });
  if (result !== 'AUTHORIZED' || !provider.refreshed) throw new Error('the authorization server no longer accepts the refresh token');
  return provider.refreshed;
}

/**
 * A provider that holds one stored credential: its tokens and client,
 * stamped with their issuer, and nothing to register or redirect with (a
 * refresh that fails ends in "sign in again", never in a new authorization).
 */
class RefreshProvider implements OAuthClientProvider {
  refreshed?: StoredOAuthTokens;
  private dropped = false;

  constructor(
    private readonly credential: UserCredential,
    readonly redirectUrl: string,
  ) {}

  get clientMetadata(): OAuthClientMetadata {
    return { redirect_uris: [this.redirectUrl] };
  }

  clientInformation(): StoredOAuthClientInformation {
    const { clientId, clientSecret, authorizationServer } = this.credential;
    return { client_id: clientId ?? '', ...(clientSecret ? { client_secret: clientSecret } : {}), issuer: authorizationServer };
  }

  tokens(): StoredOAuthTokens | undefined {
    if (this.dropped) return undefined;
    const c = this.credential;
    return { access_token: c.accessToken, token_type: c.tokenType, refresh_token: c.refreshToken, scope: c.scope, issuer: c.authorizationServer };
  }

  saveTokens(tokens: StoredOAuthTokens): void {
    this.refreshed = tokens;
  }

  /** The SDK gives up on the stored tokens (the refresh token was refused): so does this refresh. */
  invalidateCredentials(scope: 'all' | 'client' | 'tokens' | 'verifier' | 'discovery'): void {
    if (scope === 'all' || scope === 'tokens') this.dropped = true;
  }

  // Reached only when the refresh failed: there is no browser here to send anywhere.
  redirectToAuthorization(): void {}

  saveCodeVerifier(): void {}

  codeVerifier(): string {
    throw new Error('a refresh has no authorization request');
  }
}
