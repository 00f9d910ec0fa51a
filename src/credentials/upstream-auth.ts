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
import type { TokenExchanger } from './token-exchange.js';
import type { UserOAuth } from './user-oauth.js';

export interface CallerCredentials {
  userOAuth?: UserOAuth;
  exchanger: TokenExchanger;
  /** The callers' verified JWTs, for token exchange. */
  subjectTokens: SubjectTokens;
}

export function callerAuth(server: ServerConfig, principal: string, sources: CallerCredentials): AuthProvider | undefined {
  if (server.credentials === 'user-oauth' && sources.userOAuth) {
    const userOAuth = sources.userOAuth;
    return {
      token: async () => (await userOAuth.accessToken(principal, server.name))?.accessToken,
      onUnauthorized: async () => void (await userOAuth.rejected(principal, server.name)),
    };
  }
  if (server.credentials === 'token-exchange') {
    return {
      async token() {
        const subjectToken = sources.subjectTokens.of(principal);
        return subjectToken ? (await sources.exchanger.tokenFor(principal, subjectToken, server)).accessToken : undefined;
      },
      onUnauthorized: async () => sources.exchanger.forget(principal, server.name),
    };
  }
  return undefined;
}
