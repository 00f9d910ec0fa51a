/**
 * Whose credential the upstream gets, for servers that act as the caller
 * (credentials "user-oauth", "token-exchange" or "id-jag"): the stage checks
 * the caller has one before anything is sent (for the last two: obtains it,
 * so a refusal reaches the caller as a clear error and nothing is forwarded), and notes its kind and upstream subject
 * for the audit record. The token itself is attached by the connection
 * (see credentials/upstream-auth.ts) and never enters the context.
 *
 * A caller who has not connected a "user-oauth" account is asked to, with a
 * one-time sign-in link: a URL-mode elicitation (-32042) for a 2025-era
 * client that supports it, an input round for a 2026-07-28 client (the call
 * then waits for the sign-in and goes on), and a plain error carrying the
 * link for any other client.
 */
import type { SubjectTokens } from '../auth/subject-tokens.js';
import type { ServerConfig } from '../config/schema/index.js';
import { IdJagError, type IdJagExchanger } from '../credentials/id-jag.js';
import { TokenExchangeError, type TokenExchanger } from '../credentials/token-exchange.js';
import { callerTokenSource } from '../credentials/upstream-auth.js';
import type { SignInLink, UserOAuth } from '../credentials/user-oauth.js';
import { GatewayError, upstreamUnavailable } from '../core/errors.js';
import type { Stage } from './chain.js';
import type { CallContext } from './context.js';

/** How long a 2026-07-28 call waits for its caller to finish signing in after accepting the link. */
const SIGN_IN_WAIT_MS = 5 * 60_000;

export interface CredentialSources {
  userOAuth?: UserOAuth;
  exchanger: TokenExchanger;
  idJag: IdJagExchanger;
  /** The callers' verified JWTs, for token exchange and ID-JAGs. */
  subjectTokens: SubjectTokens;
}

export function checkCredentials(sources: CredentialSources): Stage {
  return {
    name: 'credentials',
    run(ctx) {
      const server = ctx.target?.upstream.config;
      if (!server || server.credentials === 'static') return;
      if (server.credentials === 'token-exchange' || server.credentials === 'id-jag') return exchangeFor(ctx, server, sources);
      return userOAuthFor(ctx, server, sources.userOAuth!);
    },
  };
}

async function userOAuthFor(ctx: CallContext, server: ServerConfig, userOAuth: UserOAuth): Promise<void> {
  let credential = await userOAuth.accessToken(ctx.principal.id, server.name);
  if (!credential) {
    await askToSignIn(ctx, server, userOAuth);
    credential = await userOAuth.accessToken(ctx.principal.id, server.name);
    if (!credential) throw signInRequired(server.name, userOAuth.signInLink(ctx.principal.id, server.name));
  }
  ctx.credential = { kind: 'user-oauth', subject: credential.subject };
}

async function exchangeFor(ctx: CallContext, server: ServerConfig, sources: CredentialSources): Promise<void> {
  const exchanger = callerTokenSource(server, sources)!;
  const subjectToken = sources.subjectTokens.of(ctx.principal.id);
  if (!subjectToken) {
    throw new GatewayError('UNAUTHENTICATED', `Upstream '${server.name}' acts as the caller: sign in to the gateway with a bearer JWT`, {
      server: server.name,
      reason: 'jwt-required',
    });
  }
  try {
    const exchanged = await exchanger.tokenFor(ctx.principal.id, subjectToken, server);
    ctx.credential = { kind: server.credentials === 'id-jag' ? 'id-jag' : 'token-exchange', subject: exchanged.subject };
  } catch (err) {
    if (err instanceof TokenExchangeError) throw upstreamUnavailable(server.name, `token exchange failed: ${err.message}`);
    if (err instanceof IdJagError) throw upstreamUnavailable(server.name, `ID-JAG failed: ${err.message}`);
    throw err;
  }
}

/**
 * Asks the caller to connect their account, in the way their client
 * understands; returns once they may have (the caller checks), or throws.
 */
async function askToSignIn(ctx: CallContext, server: ServerConfig, userOAuth: UserOAuth): Promise<void> {
  const link = userOAuth.signInLink(ctx.principal.id, server.name);
  const message = `Connect your ${server.name} account to continue.`;
  const canOpenUrls = Boolean((ctx.origin.clientCapabilities?.elicitation as { url?: unknown } | undefined)?.url);
  if (!canOpenUrls) throw signInRequired(server.name, link);
  if (ctx.session.era === 'legacy') {
    throw new GatewayError('URL_ELICITATION_REQUIRED', message, {
      server: server.name,
      url: link.url,
      elicitations: [{ mode: 'url', elicitationId: link.elicitationId, url: link.url, message }],
    });
  }
  // 2026-07-28: the question travels as an input round; the call resumes after the sign-in.
  const giveUp = new AbortController();
  const connected = userOAuth.waitForConnection(ctx.principal.id, server.name, SIGN_IN_WAIT_MS, AbortSignal.any([ctx.signal, giveUp.signal]));
  try {
    const answer = (await ctx.origin.send(
      { method: 'elicitation/create', params: { mode: 'url', elicitationId: link.elicitationId, url: link.url, message } },
      ctx.signal,
    )) as { action?: string };
    if (answer.action !== 'accept') throw signInRequired(server.name, link, 'the sign-in was declined');
    await connected;
  } finally {
    giveUp.abort();
  }
}

function signInRequired(server: string, link: SignInLink, why?: string): GatewayError {
  return new GatewayError('SIGN_IN_REQUIRED', `Connect your ${server} account first${why ? ` (${why})` : ''}: open ${link.url}`, {
    server,
    url: link.url,
  });
}
