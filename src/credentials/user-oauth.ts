/**
 * Users' own upstream accounts (credentials "user-oauth"). Each principal
 * authorises each such upstream once, in a browser, with the authorization
 * code flow + PKCE run by the gateway as an OAuth client (the SDK's `auth()`:
 * RFC 9728 discovery on the upstream, RFC 8414 on its authorization server;
 * a configured client, else the gateway's client metadata document where
 * the authorization server takes one, else dynamic registration; RFC 9207
 * `iss` checked on the way back). The tokens are stored per (principal,
 * server), encrypted, with the issuer that issued them, and refreshed there
 * only (user-refresh.ts) before they expire.
 *
 * The browser does not carry the MCP client's credential, so the sign-in link
 * the user is sent holds a one-time ticket bound to the principal (random,
 * 10 minutes, single use, a few per principal). Opening it shows which
 * gateway identity the account will be linked to before anything starts.
 * The `state` of the authorization request binds the callback to that
 * ticket, and a cookie binds it to the browser that started it (see
 * browser-binding.ts), so a link to the authorization server is worthless in
 * anyone else's browser.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { AuthorizationServerMismatchError, IssuerMismatchError, auth } from '@modelcontextprotocol/client';
import type { ServerConfig } from '../config/schema/index.js';
import type { Logger } from '../observability/log.js';
import { checkResponseIssuer } from '../upstream/oauth-login.js';
import { BINDING_TTL_S, bindingMatches, newBrowserBinding } from './browser-binding.js';
import { signInRedirectUri } from './client-metadata.js';
import { PerPrincipalStore } from './sign-in-tickets.js';
import type { CredentialStore, UserCredential } from './store.js';
import { IssuerBoundClients, tokenFields, UserAuthProvider } from './user-auth-provider.js';
import { refreshStored } from './user-refresh.js';

// Read by token exchange too.
export { subjectOf } from './user-auth-provider.js';

const TICKET_TTL_MS = BINDING_TTL_S * 1000;
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
  /** SHA-256 of the cookie value given to the browser that started it. */
  browserHash: Buffer;
}

/** The first leg's outcome: where the browser goes, and the cookie value it must carry back. */
export interface Begun {
  authorizationUrl: URL;
  state: string;
  browserNonce: string;
}

export class UserOAuth {
  private readonly servers: Map<string, ServerConfig>;
  private readonly tickets = new PerPrincipalStore<Ticket>({ max: 10_000, perPrincipal: TICKETS_PER_PRINCIPAL, ttlMs: TICKET_TTL_MS });
  private readonly pending = new PerPrincipalStore<Pending>({ max: 10_000, perPrincipal: TICKETS_PER_PRINCIPAL, ttlMs: TICKET_TTL_MS });
  /** The clients the sign-ins use, bound to their authorization server's issuer. */
  private readonly clients = new IssuerBoundClients();
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

  /** The gateway's public base URL (no trailing slash). */
  publicUrl(): string {
    return this.options.publicUrl();
  }

  /** A one-time link that starts `principal`'s authorization of `server`. */
  signInLink(principal: string, server: string): SignInLink {
    const ticket = randomBytes(24).toString('base64url');
    const elicitationId = randomUUID();
    this.tickets.set(ticket, { principal, server, elicitationId });
    const url = `${this.options.publicUrl()}/oauth/start/${encodeURIComponent(server)}?ticket=${ticket}`;
    return { url, elicitationId };
  }

  /** Who a sign-in link would connect, for the page shown before it starts (GET /oauth/start): the ticket stays unused. */
  ticketHolder(server: string, ticketValue: string): string {
    const ticket = this.tickets.peek(ticketValue);
    if (!ticket || ticket.server !== server) throw unknownTicket();
    return ticket.principal;
  }

  /**
   * First leg (POST /oauth/start/<server>?ticket=…, the start page's
   * "Continue"): uses the ticket up and returns the authorization server's
   * URL, and the value the browser's binding cookie must hold.
   */
  async begin(server: string, ticketValue: string): Promise<Begun> {
    const ticket = this.tickets.take(ticketValue);
    if (!ticket || ticket.server !== server) throw unknownTicket();
    const config = this.servers.get(server)!;
    const provider = new UserAuthProvider(config, this.options.publicUrl(), this.clients);
    const url = config.spec.type === 'stdio' ? '' : config.spec.url;
    const result = await auth(provider, { serverUrl: url, scope: config.userOAuth?.scopes?.join(' ') });
    if (result !== 'REDIRECT' || !provider.authorizationUrl) throw new SignInError('no-authorization', 'The upstream did not ask for authorization.');
    const binding = newBrowserBinding();
    this.pending.set(provider.expectedState, { ...ticket, provider, browserHash: binding.hash });
    return { authorizationUrl: provider.authorizationUrl, state: provider.expectedState, browserNonce: binding.nonce };
  }

  /**
   * Second leg (GET /oauth/callback?code&state): checks the browser is the
   * one that started (`browserNonce`: its binding cookie's value), exchanges
   * the code and stores the user's tokens.
   */
  async complete(query: URLSearchParams, browserNonce: string | undefined): Promise<{ principal: string; server: string }> {
    const state = query.get('state') ?? '';
    // Used up whatever follows: a state is answered once.
    const pending = this.pending.take(state);
    if (!pending) throw new SignInError('unknown-state', 'This authorization response is unknown or expired. Start again from your client.');
    const { provider, principal, server } = pending;
    if (!bindingMatches(pending.browserHash, browserNonce)) {
      // Someone else's sign-in finished in this browser (or it keeps no cookies): linking now would give them this account.
      this.options.log.warn('sign-in refused: the authorization response reached another browser than the one that started it', { principal, server });
      this.options.onEvent?.(server, 'signin', 'failed');
      throw new SignInError(
        'browser-mismatch',
        'This sign-in was not started in this browser, so nothing was connected. If you want to connect your account, start again from your own client, in this browser (with cookies allowed).',
        403,
      );
    }
    try {
      // RFC 9207 first, for an error response too: until `iss` says otherwise, the redirect may be a mix-up.
      checkResponseIssuer(provider.discoveryState(), query.get('iss'));
      const error = query.get('error');
      if (error) throw new SignInError('authorization-refused', `The authorization server refused: ${error}.`);
      const code = query.get('code');
      if (!code) throw new SignInError('no-code', 'The redirect carried no authorization code.');
      await auth(provider, { serverUrl: provider.url, authorizationCode: code, iss: query.get('iss') ?? undefined, scope: provider.scope });
    } catch (err) {
      this.options.onEvent?.(server, 'signin', 'failed');
      // Its details come from the redirect, which may be forged: say what happened, not what it said.
      if (err instanceof IssuerMismatchError)
        throw new SignInError('issuer-mismatch', 'The redirect came from another authorization server than the one the sign-in started with.');
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
    const config = this.servers.get(server);
    if (!config || config.spec.type === 'stdio' || !credential.refreshToken || !credential.authorizationServer || !credential.clientId) {
      // Expired and not refreshable: the user signs in again.
      const expired = credential.expiresAt !== undefined && credential.expiresAt <= Date.now();
      if (expired) await this.options.store.delete(principal, server);
      return expired ? undefined : credential;
    }
    try {
      const tokens = await refreshStored(credential, config.spec.url, signInRedirectUri(this.options.publicUrl()));
      const next = { ...credential, ...tokenFields(tokens), obtainedAt: Date.now(), refreshToken: tokens.refresh_token ?? credential.refreshToken };
      await this.options.store.put(next);
      this.options.log.debug('upstream token refreshed', { principal, server });
      this.options.onEvent?.(server, 'refresh', 'ok');
      return next;
    } catch (err) {
      // A refresh token the server no longer accepts, or an upstream that now names another authorization server
      // than the one that issued it: the user signs in again.
      const why =
        err instanceof AuthorizationServerMismatchError ? 'the upstream now names another authorization server than the one that issued it' : undefined;
      this.options.log.warn('upstream token refresh failed; the user must sign in again', {
        principal,
        server,
        error: why ?? (err instanceof Error ? err.message : String(err)),
      });
      this.options.onEvent?.(server, 'refresh', 'failed');
      await this.options.store.delete(principal, server);
      return undefined;
    }
  }
}

/** A sign-in that cannot go on; its message is shown to the user in their browser, with its stable code. */
export class SignInError extends Error {
  override readonly name = 'SignInError';

  constructor(
    readonly code: string,
    message: string,
    /** The HTTP status of the page that says so. */
    readonly status: 400 | 403 = 400,
  ) {
    super(message);
  }
}

function unknownTicket(): SignInError {
  return new SignInError('unknown-ticket', 'This sign-in link is unknown, used or expired. Ask your client for a new one.');
}
