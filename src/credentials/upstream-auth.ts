/**
 * The SDK `AuthProvider` of a connection that acts as one caller: asked for
 * a token before every HTTP request, so a refreshed or re-exchanged token is
 * used at once without reconnecting; told when the upstream answered 401, so
 * the next attempt gets a fresh one. The caller's own gateway credential is
 * never what it returns.
 */
import type { AuthProvider } from '@modelcontextprotocol/client';
import type { SubjectTokens } from '../auth/subject-tokens.js';
import type { ServerConfig } from '../config/schema/index.js';
import type { IdJagExchanger } from './id-jag.js';
import type { ExchangedToken, TokenExchanger } from './token-exchange.js';
import type { UserOAuth } from './user-oauth.js';

export interface CallerCredentials {
  userOAuth?: UserOAuth;
  exchanger: TokenExchanger;
  /** ID-JAGs from the callers' IdP, redeemed upstream (credentials "id-jag"). */
  idJag: IdJagExchanger;
  /** The callers' verified JWTs, for token exchange and ID-JAGs. */
  subjectTokens: SubjectTokens;
}

/** What obtains a token from the caller's own: an RFC 8693 exchange, or an ID-JAG redeemed upstream. */
export interface CallerTokenSource {
  tokenFor(principal: string, subjectToken: string, server: ServerConfig): Promise<ExchangedToken>;
  forget(principal: string, server: string): void;
}

/** The source of a server that trades the caller's token; undefined for the other kinds. */
export function callerTokenSource(server: ServerConfig, sources: Pick<CallerCredentials, 'exchanger' | 'idJag'>): CallerTokenSource | undefined {
  if (server.credentials === 'token-exchange') return sources.exchanger;
  if (server.credentials === 'id-jag') return sources.idJag;
  return undefined;
}

export function callerAuth(server: ServerConfig, principal: string, sources: CallerCredentials): AuthProvider | undefined {
  if (server.credentials === 'user-oauth' && sources.userOAuth) {
    const userOAuth = sources.userOAuth;
    return {
      token: async () => (await userOAuth.accessToken(principal, server.name))?.accessToken,
      onUnauthorized: async () => void (await userOAuth.rejected(principal, server.name)),
    };
  }
  const source = callerTokenSource(server, sources);
  if (!source) return undefined;
  return {
    async token() {
      const subjectToken = sources.subjectTokens.of(principal);
      return subjectToken ? (await source.tokenFor(principal, subjectToken, server)).accessToken : undefined;
    },
    onUnauthorized: async () => source.forget(principal, server.name),
  };
}
