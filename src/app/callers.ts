/**
 * Callers' own upstream credentials: the encrypted store and the sign-in
 * flow when some server has credentials "user-oauth", the token exchanger
 * for "token-exchange", and the ID-JAG exchanger for "id-jag".
 */
import type { SubjectTokens } from '../auth/subject-tokens.js';
import type { LoadedConfig, ServerConfig } from '../config/schema/index.js';
import { createCredentialStore, type CredentialStore } from '../credentials/index.js';
import { IdJagExchanger } from '../credentials/id-jag.js';
import { TokenExchanger } from '../credentials/token-exchange.js';
import { UserOAuth, type UserOAuthOptions } from '../credentials/user-oauth.js';
import type { Logger } from '../observability/log.js';
import type { CredentialSources } from '../pipeline/credentials.js';

export type CallerCredentials = CredentialSources & { store?: CredentialStore };

export type CallerHooks = Pick<UserOAuthOptions, 'publicUrl' | 'onConnected'> & {
  onEvent: (server: string, event: 'signin' | 'refresh' | 'exchange', outcome: 'ok' | 'failed') => void;
};

export function callerCredentials(config: LoadedConfig, log: Logger, subjectTokens: SubjectTokens, hooks: CallerHooks): CallerCredentials {
  const exchanger = new TokenExchanger((server, outcome) => hooks.onEvent(server, 'exchange', outcome));
  const idJag = new IdJagExchanger((server, outcome) => hooks.onEvent(server, 'exchange', outcome));
  const userServers = config.servers.filter((s) => s.credentials === 'user-oauth');
  if (userServers.length === 0 || !config.gateway.credentials) return { exchanger, idJag, subjectTokens };
  const store = createCredentialStore(config.gateway.credentials, log);
  const userOAuth = new UserOAuth({ store, servers: userServers, log, ...hooks });
  return { exchanger, idJag, userOAuth, store, subjectTokens };
}

/** Whether the caller has what a per-caller server needs: a linked account, or a token to exchange. */
export async function hasCallerCredential(callers: CredentialSources, principal: string, server: ServerConfig): Promise<boolean> {
  if (server.credentials === 'token-exchange' || server.credentials === 'id-jag') return callers.subjectTokens.of(principal) !== undefined;
  return (await callers.userOAuth?.accessToken(principal, server.name)) !== undefined;
}
