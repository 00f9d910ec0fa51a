/**
 * The SDK `OAuthClientProvider` one user's sign-in to a "user-oauth" server
 * is driven through (one per authorization request), the clients it signs
 * in as, and what the store keeps of the tokens it obtains.
 *
 * Which client: a configured one (pre-registered) first; else, when the
 * authorization server advertises `client_id_metadata_document_supported`
 * and the public URL is https, the gateway's own metadata document URL
 * (CIMD, see client-metadata.ts); else dynamic registration. That order is
 * the SDK's `auth()`: this provider only supplies the three.
 */
import { randomBytes } from 'node:crypto';
import type {
  OAuthClientInformationContext,
  OAuthClientInformationMixed,
  OAuthClientMetadata,
  StoredOAuthClientInformation,
  StoredOAuthTokens,
} from '@modelcontextprotocol/client';
import type { ServerConfig } from '../config/schema/index.js';
import { TwoLegProvider } from '../upstream/two-leg-provider.js';
import { clientMetadataUrl, signInRedirectUri } from './client-metadata.js';
import type { UserCredential } from './store.js';

/**
 * The clients the gateway is at upstreams' authorization servers, each bound
 * to the issuer it belongs to (SEP-2352): a registered client is kept per
 * (server, issuer), and a configured one is bound to the first issuer it is
 * used with, so neither is offered to another authorization server (the SDK
 * discards a client whose issuer stamp differs). One per gateway.
 */
export class IssuerBoundClients {
  private readonly registered = new Map<string, StoredOAuthClientInformation>();
  private readonly pinned = new Map<string, string>();

  registeredAt(server: string, issuer: string): StoredOAuthClientInformation | undefined {
    return this.registered.get(`${server}\u0000${issuer}`);
  }

  register(server: string, issuer: string, client: StoredOAuthClientInformation): void {
    this.registered.set(`${server}\u0000${issuer}`, { ...client, issuer });
  }

  /** The issuer a configured client is bound to: the first it was used with (in this process). */
  pin(server: string, issuer: string): string {
    const first = this.pinned.get(server);
    if (first !== undefined) return first;
    this.pinned.set(server, issuer);
    return issuer;
  }
}

/** The SDK provider one sign-in is driven through: one per authorization request. */
export class UserAuthProvider extends TwoLegProvider {
  readonly expectedState = randomBytes(24).toString('base64url');
  readonly url: string;
  /** The client this sign-in uses, once `auth()` has chosen it (what a refresh authenticates as later). */
  private client?: StoredOAuthClientInformation;

  constructor(
    private readonly config: ServerConfig,
    private readonly publicUrl: string,
    private readonly clients: IssuerBoundClients,
  ) {
    super();
    this.url = config.spec.type === 'stdio' ? '' : config.spec.url;
  }

  get scope(): string | undefined {
    return this.config.userOAuth?.scopes?.join(' ');
  }

  get redirectUrl(): string {
    return signInRedirectUri(this.publicUrl);
  }

  /** Offered (CIMD) only without a configured client, and only over https. */
  get clientMetadataUrl(): string | undefined {
    return this.configuredClient() ? undefined : clientMetadataUrl(this.publicUrl);
  }

  /** A web application, whatever its host: the SDK would take a loopback callback (a local gateway's) for a native app's. */
  get clientMetadata(): OAuthClientMetadata {
    return { ...this.codeFlowMetadata(Boolean(this.configuredClient()?.client_secret), this.scope), application_type: 'web' };
  }

  clientInformation(ctx?: OAuthClientInformationContext): StoredOAuthClientInformation | undefined {
    if (this.client || !ctx) return this.client;
    const configured = this.configuredClient();
    // Bound to another issuer, it is discarded by the SDK, which then registers anew (saveClientInformation).
    this.client =
      this.clients.registeredAt(this.config.name, ctx.issuer) ??
      (configured ? { ...configured, issuer: this.clients.pin(this.config.name, ctx.issuer) } : undefined);
    return this.client;
  }

  saveClientInformation(info: StoredOAuthClientInformation, ctx?: OAuthClientInformationContext): void {
    this.client = info;
    // The metadata document's URL is no registration: whether it is used is decided again at each sign-in.
    if (ctx && info.client_id !== clientMetadataUrl(this.publicUrl)) this.clients.register(this.config.name, ctx.issuer, info);
  }

  /** What the store gets once the code is exchanged: the tokens, and the issuer, token endpoint and client they belong to. */
  credentialFor(principal: string): UserCredential {
    if (!this.saved) throw new Error('no tokens: the authorization code was not exchanged');
    const client = this.client;
    const metadata = this.discovery?.authorizationServerMetadata;
    return {
      principal,
      server: this.config.name,
      ...tokenFields(this.saved),
      refreshToken: this.saved.refresh_token,
      obtainedAt: Date.now(),
      subject: subjectOf(this.saved.access_token),
      authorizationServer: this.saved.issuer ?? metadata?.issuer ?? this.discovery?.authorizationServerUrl,
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
