/**
 * The SDK `OAuthClientProvider` one user's sign-in to a "user-oauth" server
 * is driven through (one per authorization request), and what the store
 * keeps of the tokens it obtains.
 */
import { randomBytes } from 'node:crypto';
import type { OAuthClientInformationMixed, OAuthClientMetadata, StoredOAuthTokens } from '@modelcontextprotocol/client';
import type { ServerConfig } from '../config/schema/index.js';
import { TwoLegProvider } from '../upstream/two-leg-provider.js';
import type { UserCredential } from './store.js';

/** The SDK provider one sign-in is driven through: one per authorization request. */
export class UserAuthProvider extends TwoLegProvider {
  readonly expectedState = randomBytes(24).toString('base64url');
  readonly url: string;

  constructor(
    private readonly config: ServerConfig,
    private readonly publicUrl: string,
    private readonly registered: Map<string, OAuthClientInformationMixed>,
  ) {
    super();
    this.url = config.spec.type === 'stdio' ? '' : config.spec.url;
  }

  get scope(): string | undefined {
    return this.config.userOAuth?.scopes?.join(' ');
  }

  get redirectUrl(): string {
    return `${this.publicUrl}/oauth/callback`;
  }

  get clientMetadata(): OAuthClientMetadata {
    return this.codeFlowMetadata(Boolean(this.configuredClient()?.client_secret), this.scope);
  }

  clientInformation(): OAuthClientInformationMixed | undefined {
    return this.configuredClient() ?? this.registered.get(this.config.name);
  }

  saveClientInformation(info: OAuthClientInformationMixed): void {
    this.registered.set(this.config.name, info);
  }

  /** What the store gets once the code is exchanged. */
  credentialFor(principal: string): UserCredential {
    if (!this.saved) throw new Error('no tokens: the authorization code was not exchanged');
    const client = this.clientInformation();
    const metadata = this.discovery?.authorizationServerMetadata;
    return {
      principal,
      server: this.config.name,
      ...tokenFields(this.saved),
      refreshToken: this.saved.refresh_token,
      obtainedAt: Date.now(),
      subject: subjectOf(this.saved.access_token),
      authorizationServer: metadata?.issuer ?? this.discovery?.authorizationServerUrl,
      tokenEndpoint: metadata?.token_endpoint,
      clientId: client?.client_id,
      clientSecret: client && 'client_secret' in client ? client.client_secret : undefined,
      resource: this.resource,
    };
  }

  private configuredClient(): OAuthClientInformationMixed | undefined {
    const spec = this.config.spec;
    const fromSettings = this.config.userOAuth;
    if (fromSettings?.clientId) return { client_id: fromSettings.clientId, ...(fromSettings.clientSecret ? { client_secret: fromSettings.clientSecret } : {}) };
    const oauth = spec.type !== 'stdio' ? spec.oauth : undefined;
    if (oauth?.grant === 'authorization_code') return { client_id: oauth.clientId, ...(oauth.clientSecret ? { client_secret: oauth.clientSecret } : {}) };
    return undefined;
  }
}

export function tokenFields(tokens: StoredOAuthTokens): Pick<UserCredential, 'accessToken' | 'tokenType' | 'scope' | 'expiresAt' | 'subject'> {
  return {
    accessToken: tokens.access_token,
    tokenType: tokens.token_type,
    scope: tokens.scope,
    expiresAt: typeof tokens.expires_in === 'number' ? Date.now() + tokens.expires_in * 1000 : undefined,
    subject: subjectOf(tokens.access_token),
  };
}

/** The `sub` of a JWT access token, for audit records (read, not verified: the upstream verifies it). */
export function subjectOf(token: string): string | undefined {
  const parts = token.split('.');
  if (parts.length !== 3) return undefined;
  try {
    const payload = JSON.parse(Buffer.from(parts[1]!, 'base64url').toString('utf8')) as { sub?: unknown };
    return typeof payload.sub === 'string' ? payload.sub : undefined;
  } catch {
    return undefined;
  }
}
