/**
 * The part every authorization-code sign-in shares, as an SDK
 * `OAuthClientProvider` driven through `auth()` twice: the first leg gets the
 * authorization URL (captured, not opened), the second exchanges the code.
 * Between the two it remembers the PKCE verifier, the discovery state and the
 * RFC 8707 resource; it never returns stored tokens, so a sign-in always asks
 * anew. Used by `switchboard login` (oauth-login.ts) and by users connecting
 * their own accounts (credentials/user-oauth.ts).
 */
import type {
  OAuthClientInformationMixed,
  OAuthClientMetadata,
  OAuthClientProvider,
  OAuthDiscoveryState,
  StoredOAuthTokens,
} from '@modelcontextprotocol/client';

export abstract class TwoLegProvider implements OAuthClientProvider {
  authorizationUrl?: URL;
  abstract readonly expectedState: string;
  protected saved?: StoredOAuthTokens;
  protected resource?: string;
  protected discovery?: OAuthDiscoveryState;
  private verifier?: string;

  abstract get redirectUrl(): string;
  abstract get clientMetadata(): OAuthClientMetadata;
  abstract clientInformation(): OAuthClientInformationMixed | undefined;

  state(): string {
    return this.expectedState;
  }

  tokens(): StoredOAuthTokens | undefined {
    return this.saved;
  }

  saveTokens(tokens: StoredOAuthTokens): void {
    this.saved = tokens;
  }

  redirectToAuthorization(authorizationUrl: URL): void {
    this.authorizationUrl = authorizationUrl;
  }

  saveCodeVerifier(codeVerifier: string): void {
    this.verifier = codeVerifier;
  }

  codeVerifier(): string {
    if (this.verifier === undefined) throw new Error('no PKCE code verifier: the authorization request was not started');
    return this.verifier;
  }

  saveDiscoveryState(state: OAuthDiscoveryState): void {
    this.discovery = state;
  }

  discoveryState(): OAuthDiscoveryState | undefined {
    return this.discovery;
  }

  saveResourceUrl(resourceUrl: string): void {
    this.resource = resourceUrl;
  }

  /** The client both sign-ins register as (dynamic registration): code flow with refresh, a secret only when configured. */
  protected codeFlowMetadata(hasClientSecret: boolean, scope: string | undefined): OAuthClientMetadata {
    return {
      client_name: 'Switchboard',
      redirect_uris: [this.redirectUrl],
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      token_endpoint_auth_method: hasClientSecret ? 'client_secret_basic' : 'none',
      ...(scope ? { scope } : {}),
    };
  }
}
