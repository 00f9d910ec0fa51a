/**
 * `switchboard login <server> [--config F]`: the one-time authorization-code
 * + PKCE login for an upstream configured with `oauth: { clientId,
 * callbackPort }`. It listens on the loopback callback port, prints the
 * authorization URL to stderr (it opens no browser), waits a bounded time for
 * the redirect, exchanges the code and stores the tokens (0600) where the
 * gateway reads them. Exit codes: 0 signed in, 1 the login failed or the
 * configuration is invalid, 2 usage (no such server, or one that needs no
 * login).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { LoginProvider, beginLogin, completeLogin, redirectUrlFor } from '../../upstream/oauth-login.js';
import type { AuthCodeSpec } from '../../upstream/oauth.js';
import { UsageError, type ParsedArgs } from '../args.js';
import { loadConfigFromFlag } from '../config-file.js';

/** How long to wait for the redirect; `SWITCHBOARD_LOGIN_TIMEOUT_MS` overrides it. */
const DEFAULT_TIMEOUT_MS = 5 * 60_000;

export async function loginCommand(args: ParsedArgs): Promise<number> {
  const name = args.positionals[0];
  const say = (line: string) => process.stderr.write(`switchboard login${name ? ` ${name}` : ''}: ${line}\n`);
  if (!name) throw new UsageError('which server? (switchboard login <server>)', 'login');
  const config = loadConfigFromFlag(args.flags.config);
  const candidates = config.servers.filter((s) => s.spec.type !== 'stdio' && s.spec.oauth?.grant === 'authorization_code').map((s) => s.name);
  const known = candidates.length > 0 ? `servers that use it: ${candidates.join(', ')}` : 'no server in this file uses it';
  const server = config.servers.find((s) => s.name === name);
  if (!server) {
    const skipped = config.skipped.some((s) => s.name === name);
    say(`${skipped ? 'this server is not configured ("url" is empty)' : `no server named "${name}" in ${config.file}`}; ${known}`);
    return 2;
  }
  const spec = server.spec;
  if (spec.type === 'stdio' || spec.oauth?.grant !== 'authorization_code') {
    const why = spec.type !== 'stdio' && spec.oauth ? 'it uses client credentials, which need no login' : 'it has no "oauth": { clientId, callbackPort }';
    say(`nothing to do: ${why}; ${known}`);
    return 2;
  }
  try {
    await runLogin(name, spec.url, spec.oauth, timeoutMs(), say);
    return 0;
  } catch (err) {
    say(`failed: ${describe(err)}`);
    return 1;
  }
}

/** The message, and for a network failure ("fetch failed") its cause. */
function describe(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const cause = err.cause as (Error & { code?: string }) | undefined;
  return cause instanceof Error ? `${err.message} (${cause.code ?? cause.message})` : err.message;
}

async function runLogin(name: string, url: string, oauth: AuthCodeSpec, waitMs: number, say: (line: string) => void): Promise<void> {
  const provider = new LoginProvider(name, url, oauth);
  // Listen first: a port in use should fail before the operator opens anything.
  const callback = await listenForCallback(oauth.callbackPort, provider.expectedState, name);
  try {
    const authorizationUrl = await beginLogin(provider);
    const minutes = Math.round((waitMs / 60_000) * 10) / 10;
    say(`open this URL in a browser and approve access:\n\n  ${authorizationUrl.href}\n`);
    say(`waiting up to ${minutes} min for the redirect to ${redirectUrlFor(oauth.callbackPort)} …`);
    const params = await withDeadline(callback.params, waitMs, `no redirect arrived within ${minutes} min`);
    const record = await completeLogin(provider, params);
    const refresh = record.tokens.refresh_token ? 'with a refresh token' : 'without a refresh token: log in again when it expires';
    say(`signed in (${refresh}); tokens saved to ${oauth.tokenFile}`);
  } finally {
    await callback.close();
  }
}

interface Callback {
  /** The query of the first redirect that carries our `state`. */
  params: Promise<URLSearchParams>;
  close(): Promise<void>;
}

/**
 * Serves `GET /callback` on 127.0.0.1 (and ::1 when the host has it, since
 * browsers may resolve `localhost` to either) at the callback port.
 */
async function listenForCallback(port: number, expectedState: string, name: string): Promise<Callback> {
  let resolve!: (params: URLSearchParams) => void;
  let reject!: (err: Error) => void;
  const params = new Promise<URLSearchParams>((res, rej) => ((resolve = res), (reject = rej)));
  params.catch(() => {});
  const handler = (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const query = url.searchParams;
    const page = (status: number, text: string) =>
      res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' }).end(`Switchboard: ${text}\n`);
    if (req.method !== 'GET' || url.pathname !== '/callback') return page(404, 'not found');
    // A redirect without our state is not the answer to this login (stale tab, forged link): ignore it.
    if (query.get('state') !== expectedState) return page(400, 'this redirect does not belong to the login in progress.');
    const error = query.get('error');
    if (error !== null) {
      page(400, 'authorization failed. You can close this window.');
      // Only the error code, which is a short token; never its description (it may be forged).
      const code = /^[\w.-]{1,64}$/.test(error) ? error : 'unknown error';
      return reject(new Error(`the authorization server refused (${code})`));
    }
    page(200, `signed in to "${name}". You can close this window.`);
    resolve(query);
  };
  const servers: Server[] = [];
  for (const host of ['127.0.0.1', '::1']) {
    const server = createServer(handler);
    try {
      await new Promise<void>((res, rej) => {
        server.once('error', rej);
        server.listen(port, host, () => res());
      });
      servers.push(server);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      // No IPv6 loopback here: 127.0.0.1 alone will do.
      if (host === '::1' && (code === 'EADDRNOTAVAIL' || code === 'EAFNOSUPPORT')) continue;
      await Promise.all(servers.map(closeServer));
      if (code === 'EADDRINUSE') throw new Error(`port ${port} (oauth.callbackPort) is in use on ${host}`);
      throw err;
    }
  }
  return { params, close: () => Promise.all(servers.map(closeServer)).then(() => {}) };
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}

function withDeadline<T>(promise: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(message)), ms)));
  return Promise.race([promise, deadline]).finally(() => clearTimeout(timer));
}

function timeoutMs(): number {
  const raw = process.env.SWITCHBOARD_LOGIN_TIMEOUT_MS;
  const value = raw === undefined ? NaN : Number(raw);
  return Number.isInteger(value) && value > 0 ? value : DEFAULT_TIMEOUT_MS;
}
