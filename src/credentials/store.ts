/**
 * Users' own upstream credentials, per (principal, server): what the gateway
 * obtained for a person through `user-oauth`, so each call reaches the
 * upstream as that person. A store never logs a token, and a file-backed one
 * keeps them encrypted at rest.
 */

/** One principal's tokens for one upstream server. */
export interface UserCredential {
  principal: string;
  server: string;
  accessToken: string;
  refreshToken?: string;
  tokenType: string;
  scope?: string;
  /** Epoch ms; absent when the authorization server gave no `expires_in`. */
  expiresAt?: number;
  obtainedAt: number;
  /** The upstream identity (the token's `sub`, when it is a JWT), for audit records and `credentials list`. */
  subject?: string;
  /** Where a refresh goes, and as which client (found at authorization time). */
  tokenEndpoint?: string;
  authorizationServer?: string;
  clientId?: string;
  clientSecret?: string;
  /** The RFC 8707 resource the tokens were issued for, sent again on refresh. */
  resource?: string;
}

/** What `credentials list` shows: never a token. */
export interface CredentialSummary {
  principal: string;
  server: string;
  subject?: string;
  obtainedAt: number;
  expiresAt?: number;
  refreshable: boolean;
}

export interface CredentialStore {
  get(principal: string, server: string): Promise<UserCredential | undefined>;
  put(credential: UserCredential): Promise<void>;
  /** True when something was removed. */
  delete(principal: string, server: string): Promise<boolean>;
  /** Every stored credential (optionally one principal's), without tokens. */
  list(principal?: string): Promise<CredentialSummary[]>;
  /** Whether the store answered its last request (for /readyz and the console; never an error text). */
  health(): CredentialStoreHealth;
  close(): Promise<void>;
}

export interface CredentialStoreHealth {
  type: 'file' | 'redis';
  state: 'up' | 'down';
}

export function summaryOf(c: UserCredential): CredentialSummary {
  return {
    principal: c.principal,
    server: c.server,
    subject: c.subject,
    obtainedAt: c.obtainedAt,
    expiresAt: c.expiresAt,
    refreshable: c.refreshToken !== undefined,
  };
}

/** Summaries in (principal, server) order, code-unit wise: what `credentials list` shows, from either store. */
export function bySlot(a: CredentialSummary, b: CredentialSummary): number {
  return a.principal < b.principal ? -1 : a.principal > b.principal ? 1 : a.server < b.server ? -1 : a.server > b.server ? 1 : 0;
}
