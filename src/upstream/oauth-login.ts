/**
 * The authorization-code + PKCE login that `switchboard login <server>` runs
 * once per upstream, through the SDK's `auth()`: discovery (or the configured
 * authorization server), the authorization URL, then the code exchange at the
 * same authorization server. The tokens go to the server's token file, where
 * the gateway (oauth.ts) reads and refreshes them.
 */
import { randomUUID } from 'node:crypto';
import {
  IssuerMismatchError,
  auth,
  validateAuthorizationResponseIssuer,
  type FetchLike,
  type OAuthClientInformationMixed,
  type OAuthClientMetadata,
  type OAuthDiscoveryState,
} from '@modelcontextprotocol/client';
import { clientInformationOf, pinnedDiscovery, type AuthCodeSpec } from './oauth.js';
import { TwoLegProvider } from './two-leg-provider.js';
import { recordOf, writeTokenFile, type TokenRecord } from './token-store.js';

/**
 * The login is a short-lived process: its requests close their connections,
 * so that it exits as soon as it is done rather than when idle keep-alive
 * sockets time out.
 */
const oneShotFetch: FetchLike = (url, init) => {
  const headers = new Headers(init?.headers);
  headers.set('connection', 'close');
  return fetch(url, { ...init, headers });
};

/** The loopback redirect URI of `switchboard login` (the one Claude Code registers for `callbackPort`). */
export function redirectUrlFor(callbackPort: number): string {
  return `http://localhost:${callbackPort}/callback`;
}

/**
 * The provider `switchboard login` drives through the SDK's `auth()`: it
 * never returns stored tokens (a login always asks anew), remembers the PKCE
 * verifier, the discovery state and the resource between the two legs, and
 * captures the authorization URL instead of opening a browser.
 */
export class LoginProvider extends TwoLegProvider {
  readonly expectedState = randomUUID();

  constructor(
    readonly server: string,
    readonly url: string,
    readonly oauth: AuthCodeSpec,
  ) {
    super();
  }

  get redirectUrl(): string {
    return redirectUrlFor(this.oauth.callbackPort);
  }

  get clientMetadata(): OAuthClientMetadata {
    return this.codeFlowMetadata(this.oauth.clientSecret !== undefined, this.oauth.scopes);
  }

  clientInformation(): OAuthClientInformationMixed {
    return clientInformationOf(this.oauth);
  }

  /** What the token file gets once the code is exchanged. */
  record(): TokenRecord {
    if (!this.saved) throw new Error('no tokens: the authorization code was not exchanged');
    const base = { server: this.server, url: this.url, clientId: this.oauth.clientId, resource: this.resource, discovery: this.discovery };
    return recordOf(base, this.saved);
  }
}

/**
 * The first leg of `switchboard login`: discovery (or the configured
 * authorization server), then the authorization URL with its PKCE challenge,
 * `state` and RFC 8707 `resource`.
 */
export async function beginLogin(provider: LoginProvider): Promise<URL> {
  const pinned = await pinnedDiscovery(provider.oauth, oneShotFetch);
  if (pinned) provider.saveDiscoveryState(pinned);
  const result = await auth(provider, { serverUrl: provider.url, scope: provider.oauth.scopes, fetchFn: oneShotFetch });
  if (result !== 'REDIRECT' || !provider.authorizationUrl) throw new Error('the authorization server did not ask for an authorization request');
  return provider.authorizationUrl;
}

/**
 * The second leg: exchanges the code of the redirect (whose `state` the
 * caller checked) with the PKCE verifier, at the authorization server the
 * first leg found (RFC 9207 `iss` checked), and stores the tokens.
 */
export async function completeLogin(provider: LoginProvider, callback: URLSearchParams): Promise<TokenRecord> {
  try {
    checkResponseIssuer(provider.discoveryState(), callback.get('iss'));
    const code = callback.get('code');
    if (!code) throw new Error('the redirect carried no authorization code');
    const iss = callback.get('iss') ?? undefined;
    await auth(provider, { serverUrl: provider.url, authorizationCode: code, iss, scope: provider.oauth.scopes, fetchFn: oneShotFetch });
  } catch (err) {
    // Its details come from the redirect, which may be forged: say what happened, not what it said.
    if (err instanceof IssuerMismatchError) throw new Error('the redirect came from another authorization server than the one the login started with');
    throw err;
  }
  const record = provider.record();
  await writeTokenFile(provider.oauth.tokenFile, record);
  return record;
}

/**
 * RFC 9207: the `iss` of an authorization response (success or error) must
 * be the issuer the request was sent to, and must be there when that
 * authorization server advertises `authorization_response_iss_parameter_supported`.
 * Throws the SDK's `IssuerMismatchError`. Checked before anything else in
 * the response is believed; also used by users' sign-ins (credentials/user-oauth.ts).
 */
export function checkResponseIssuer(discovery: OAuthDiscoveryState | undefined, iss: string | null): void {
  const metadata = discovery?.authorizationServerMetadata;
  validateAuthorizationResponseIssuer({
    iss: iss ?? undefined,
    expectedIssuer: metadata?.issuer,
    issParameterSupported: metadata?.authorization_response_iss_parameter_supported === true,
  });
}
