/**
 * Helpers of the enterprise-identity tests: a user signing in through a
 * gateway whose public URL is https (a TLS front with a test certificate),
 * as a browser does it but over a fetch that trusts that certificate, with a
 * hook to tamper with the authorization response (a mix-up attacker); the
 * sign-in link a caller is given; and a counter read from /metrics.
 */
import { expect } from 'vitest';
import { Client as LegacyClient } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { McpError } from '@modelcontextprotocol/sdk/types.js';
import { authorizeAs } from '../fixtures/oauth/authorization-server.mjs';
import type { RunningGateway } from './gateway.js';
import { errorCode } from './user-oauth.js';

export type FetchLike = (url: string | URL, init?: RequestInit) => Promise<Response>;

export interface TlsSignIn {
  /** Where the start page's Continue sent the browser (the authorization request). */
  authorizationUrl: URL;
  /** The authorization response, as it reached the gateway (after `tamper`). */
  callback: URL;
  status: number;
  page: string;
  /** The data-code of a gateway error page. */
  code: string | undefined;
}

/**
 * A user's sign-in from `link`: the start page's Continue, the authorization
 * server's login and consent (as `user`, or refused with `deny`), then the
 * callback in the same browser (its binding cookie), after `tamper` has had
 * its way with the authorization response.
 */
export async function signInOver(
  fetchFn: FetchLike,
  link: string,
  user: string,
  options: { tamper?: (callback: URL) => void; deny?: boolean } = {},
): Promise<TlsSignIn> {
  const start = await fetchFn(link, { method: 'POST', headers: { origin: new URL(link).origin, 'sec-fetch-site': 'same-origin' } });
  expect(start.status, await start.text()).toBe(303);
  const cookie = start.headers.getSetCookie()[0]!.split(';')[0]!;
  const authorizationUrl = new URL(start.headers.get('location')!);
  const callback = new URL(await authorizeAs(authorizationUrl, user, { deny: options.deny }));
  options.tamper?.(callback);
  const done = await fetchFn(callback, { headers: { cookie } });
  const page = await done.text();
  return { authorizationUrl, callback, status: done.status, page, code: errorCode(page) };
}

/** A 2025-era client with an API key that cannot open URLs: a call that needs a sign-in fails with the link in its data. */
export async function keyClient(gw: RunningGateway, key: string): Promise<LegacyClient> {
  const client = new LegacyClient({ name: 'enterprise', version: '1' });
  await client.connect(new StreamableHTTPClientTransport(new URL(gw.mcpUrl), { requestInit: { headers: { Authorization: `Bearer ${key}` } } }));
  return client;
}

/** The sign-in link `client` gets for calling `tool` without a connected account. */
export async function signInLinkOf(client: LegacyClient, tool: string): Promise<string> {
  const err = (await client.callTool({ name: tool, arguments: {} }).catch((e: unknown) => e)) as McpError;
  expect(err).toBeInstanceOf(McpError);
  expect((err.data as { code: string }).code).toBe('SIGN_IN_REQUIRED');
  return (err.data as { url: string }).url;
}

/** `switchboard_caller_credentials_total` for one server, event and outcome, from a /metrics scrape. */
export async function callerCredentialCount(gw: RunningGateway, server: string, event: string, outcome: string): Promise<number> {
  const metrics = await (await fetch(`${gw.url}/metrics`)).text();
  const line = new RegExp(`^switchboard_caller_credentials_total\\{server="${server}",event="${event}",outcome="${outcome}"\\} (\\d+)`, 'm');
  return Number(line.exec(metrics)?.[1] ?? 0);
}
