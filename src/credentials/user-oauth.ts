/**
 * Users' own upstream accounts (credentials "user-oauth"). Each principal
 * authorises each such upstream once, in a browser, with the authorization
 * code flow + PKCE run by the gateway as an OAuth client (the SDK's `auth()`:
 * RFC 9728 discovery on the upstream, RFC 8414 on its authorization server,
 * dynamic client registration when no client id is configured). The tokens
 * are stored per (principal, server), encrypted, and refreshed before they
 * expire.
 *
 * The browser does not carry the MCP client's credential, so the sign-in link
 * the user is sent holds a one-time ticket bound to the principal (random,
 * 10 minutes, single use, a few per principal); the `state` of the authorization request binds the
 * callback to that ticket.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import {
  IssuerMismatchError,
  auth,
  refreshAuthorization,
  type AuthorizationServerMetadata,
  type OAuthClientInformationMixed,
} from '@modelcontextprotocol/client';
import type { ServerConfig } from '../config/schema.js';
import type { Logger } from '../observability/log.js';
import { PerPrincipalStore } from './sign-in-tickets.js';
import type { CredentialStore, UserCredential } from './store.js';
import { tokenFields, UserAuthProvider } from './user-auth-provider.js';

// Read by token exchange too.
export { subjectOf } from './user-auth-provider.js';

const TICKET_TTL_MS = 10 * 60_000;
/** Sign-in links (and authorization requests in flight) one principal may hold at once; a new one drops their oldest. */
export const TICKETS_PER_PRINCIPAL = 5;
/** A token is refreshed before use once this close to expiry: a minute, or a quarter of its lifetime if shorter. */
const REFRESH_AHEAD_MS = 60_000;
const refreshAhead = (c: UserCredential) => Math.min(REFRESH_AHEAD_MS, Math.max(0, ((c.expiresAt ?? 0) - c.obtainedAt) / 4));

export interface SignInLink {
  url: string;
  elicitationId: string;
}

export interface UserOAuthOptions {
  store: CredentialStore;
  /** The servers with credentials "user-oauth". */
  servers: readonly ServerConfig[];
  /** The gateway's public base URL (no trailing slash), for links and the redirect URI. */
  publicUrl: () => string;
  log: Logger;
  /** Called once a principal has connected an account (their sessions' lists change). */
  onConnected?: (principal: string, server: string, elicitationId: string) => void;
  /** Counts sign-ins and refreshes (metrics). */
  onEvent?: (server: string, event: 'signin' | 'refresh', outcome: 'ok' | 'failed') => void;
}

interface Ticket {
  principal: string;
  server: string;
  elicitationId: string;
}

interface Pending extends Ticket {
  provider: UserAuthProvider;
}

export class UserOAuth {
  private readonly servers: Map<string, ServerConfig>;
  private readonly tickets = new PerPrincipalStore<Ticket>({ max: 10_000, perPrincipal: TICKETS_PER_PRINCIPAL, ttlMs: TICKET_TTL_MS });
  private readonly pending = new PerPrincipalStore<Pending>({ max: 10_000, perPrincipal: TICKETS_PER_PRINCIPAL, ttlMs: TICKET_TTL_MS });
  /** Dynamically registered clients, per server (registered once per process). */
  private readonly registered = new Map<string, OAuthClientInformationMixed>();
  /** One refresh at a time per credential. */
  private readonly refreshing = new Map<string, Promise<UserCredential | undefined>>();
  /** Calls parked until their caller has connected an account. */
  private readonly waiting = new Map<string, Set<() => void>>();

  constructor(private readonly options: UserOAuthOptions) {
    this.servers = new Map(options.servers.map((s) => [s.name, s]));
  }

  handles(server: string): boolean {
    return this.servers.has(server);
  }

  /** A one-time link that starts `principal`'s authorization of `server`. */
  signInLink(principal: string, server: string): SignInLink {
    const ticket = randomBytes(24).toString('base64url');
    const elicitationId = randomUUID();
    this.tickets.set(ticket, { principal, server, elicitationId });
    const url = `${this.options.publicUrl()}/oauth/start/${encodeURIComponent(server)}?ticket=${ticket}`;
    return { url, elicitationId };
  }

  /** First leg (GET /oauth/start/<server>?ticket=…): the authorization server's URL to redirect the browser to. */
  async begin(server: string, ticketValue: string): Promise<URL> {
    const ticket = this.tickets.take(ticketValue);
    if (!ticket || ticket.server !== server) throw new SignInError('This sign-in link is unknown, used or expired. Ask your client for a new one.');
    const config = this.servers.get(server)!;
    const provider = new UserAuthProvider(config, this.options.publicUrl(), this.registered);
    const url = config.spec.type === 'stdio' ? '' : config.spec.url;
    const result = await auth(provider, { serverUrl: url, scope: config.userOAuth?.scopes?.join(' ') });
    if (result !== 'REDIRECT' || !provider.authorizationUrl) throw new SignInError('The upstream did not ask for authorization.');
    this.pending.set(provider.expectedState, { ...ticket, provider });
    return provider.authorizationUrl;
  }

  /** Second leg (GET /oauth/callback?code&state): exchanges the code and stores the user's tokens. */
  async complete(query: URLSearchParams): Promise<{ principal: string; server: string }> {
    const state = query.get('state') ?? '';
    const pending = this.pending.take(state);
    if (!pending) throw new SignInError('This authorization response is unknown or expired. Start again from your client.');
    const error = query.get('error');
    if (error) throw new SignInError(`The authorization server refused: ${error}.`);
    const code = query.get('code');
    if (!code) throw new SignInError('The redirect carried no authorization code.');
    const { provider, principal, server } = pending;
    try {
      await auth(provider, { serverUrl: provider.url, authorizationCode: code, iss: query.get('iss') ?? undefined, scope: provider.scope });
    } catch (err) {
      this.options.onEvent?.(server, 'signin', 'failed');
      // Its details come from the redirect, which may be forged: say what happened, not what it said.
      if (err instanceof IssuerMismatchError) throw new SignInError('The redirect came from another authorization server than the one the sign-in started with.');
      throw err;
    }
    await this.options.store.put(provider.credentialFor(principal));
    this.options.log.info('upstream account connected', { principal, server });
    this.options.onEvent?.(server, 'signin', 'ok');
    this.options.onConnected?.(principal, server, pending.elicitationId);
    for (const wake of this.waiting.get(`${principal}\u0000${server}`) ?? []) wake();
    return { principal, server };
  }

  /** Resolves true once `principal` has connected `server` (or false after `timeoutMs` or on abort). */
  waitForConnection(principal: string, server: string, timeoutMs: number, signal?: AbortSignal): Promise<boolean> {
    const key = `${principal}\u0000${server}`;
    return new Promise((resolve) => {
      let set = this.waiting.get(key);
      if (!set) this.waiting.set(key, (set = new Set()));
      const done = (ok: boolean) => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        set.delete(wake);
        if (set.size === 0) this.waiting.delete(key);
        resolve(ok);
      };
      const wake = () => done(true);
      const onAbort = () => done(false);
      const timer = setTimeout(() => done(false), timeoutMs);
      set.add(wake);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  /** The principal's access token for `server`, refreshed if it is about to expire; undefined if there is none (or it cannot be refreshed). */
  async accessToken(principal: string, server: string): Promise<UserCredential | undefined> {
    const credential = await this.options.store.get(principal, server);
    if (!credential) return undefined;
    if (credential.expiresAt === undefined || credential.expiresAt - Date.now() > refreshAhead(credential)) return credential;
    return this.refresh(credential);
  }

  /** After the upstream answered 401: the token is no good, refresh it now (or forget it). */
  async rejected(principal: string, server: string): Promise<UserCredential | undefined> {
    const credential = await this.options.store.get(principal, server);
    return credential ? this.refresh(credential) : undefined;
  }

  async revoke(principal: string, server: string): Promise<boolean> {
    return this.options.store.delete(principal, server);
  }

  private refresh(credential: UserCredential): Promise<UserCredential | undefined> {
    const key = `${credential.principal}\u0000${credential.server}`;
    let running = this.refreshing.get(key);
    if (!running) {
      running = this.doRefresh(credential).finally(() => this.refreshing.delete(key));
      this.refreshing.set(key, running);
    }
    return running;
  }

  private async doRefresh(credential: UserCredential): Promise<UserCredential | undefined> {
    const { principal, server } = credential;
    if (!credential.refreshToken || !credential.tokenEndpoint || !credential.authorizationServer || !credential.clientId) {
      // Expired and not refreshable: the user signs in again.
      if (credential.expiresAt !== undefined && credential.expiresAt <= Date.now()) await this.options.store.delete(principal, server);
      return credential.expiresAt !== undefined && credential.expiresAt <= Date.now() ? undefined : credential;
    }
    const metadata = {
      issuer: credential.authorizationServer,
      token_endpoint: credential.tokenEndpoint,
      authorization_endpoint: credential.tokenEndpoint,
      response_types_supported: ['code'],
    } as AuthorizationServerMetadata;
    try {
      const tokens = await refreshAuthorization(credential.authorizationServer, {
        metadata,
        clientInformation: { client_id: credential.clientId, ...(credential.clientSecret ? { client_secret: credential.clientSecret } : {}) },
        refreshToken: credential.refreshToken,
        resource: credential.resource ? new URL(credential.resource) : undefined,
      });
      const next = { ...credential, ...tokenFields(tokens), obtainedAt: Date.now(), refreshToken: tokens.refresh_token ?? credential.refreshToken };
      await this.options.store.put(next);
      this.options.log.debug('upstream token refreshed', { principal, server });
      this.options.onEvent?.(server, 'refresh', 'ok');
      return next;
    } catch (err) {
      // A refresh token the server no longer accepts: the user signs in again.
      this.options.log.warn('upstream token refresh failed; the user must sign in again', { principal, server, error: err instanceof Error ? err.message : String(err) });
      this.options.onEvent?.(server, 'refresh', 'failed');
      await this.options.store.delete(principal, server);
      return undefined;
    }
  }
}

/** A sign-in that cannot go on; its message is shown to the user in their browser. */
export class SignInError extends Error {
  override readonly name = 'SignInError';
}
