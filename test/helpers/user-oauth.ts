/**
 * A user linking an upstream account through the gateway, as a browser does
 * it (cookie jars, the gateway's start page and its Continue, the
 * authorization server's login and consent, the callback), and the URL
 * elicitation that asks for it.
 */
import { McpError } from '@modelcontextprotocol/sdk/types.js';
import { expect } from 'vitest';
import { authorizeAs } from '../fixtures/oauth/authorization-server.mjs';

/** One browser's cookies for the gateway (name → value; every cookie the gateway sets is scoped to /oauth). */
export type Browser = Map<string, string>;

/** A GET or POST as a browser sends it: its cookies, and for a form POST the `Origin` of the page it came from. */
export async function browse(browser: Browser, url: string, init: { method?: string; headers?: Record<string, string> } = {}): Promise<Response> {
  const cookie = [...browser].map(([name, value]) => `${name}=${value}`).join('; ');
  const response = await fetch(url, { redirect: 'manual', method: init.method, headers: { ...(cookie ? { cookie } : {}), ...init.headers } });
  for (const line of response.headers.getSetCookie()) {
    const [pair = ''] = line.split(';');
    const eq = pair.indexOf('=');
    if (/;\s*Max-Age=0(;|$)/i.test(line)) browser.delete(pair.slice(0, eq));
    else browser.set(pair.slice(0, eq), pair.slice(eq + 1));
  }
  return response;
}

/** The gateway's start page for a sign-in link, and the name it shows (the gateway identity the account goes to). */
export async function startPage(link: string): Promise<{ status: number; page: string; principal?: string; code?: string }> {
  const response = await fetch(link, { redirect: 'manual' });
  const page = await response.text();
  return { status: response.status, page, principal: principalShown(page), code: errorCode(page) };
}

/** What `<strong id="principal">` holds on a gateway page (HTML entities as sent). */
export const principalShown = (page: string) => /<strong id="principal">([^<]*)<\/strong>/.exec(page)?.[1];
/**
 * Matches the principal id of the API key `id` as a page shows it (HTML-escaped): whatever namespace the gateway
 * gives ids (`apikey:<id>`), it ends with the key's id.
 */
export const principalOfKey = (id: string) => expect.stringMatching(new RegExp(`(^|:)${htmlEscaped(id).replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`));
export const htmlEscaped = (text: string) => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
/** The stable code of a gateway error page. */
export const errorCode = (page: string) => /data-code="([^"]*)"/.exec(page)?.[1];

/** The start page's "Continue" in `browser`: the authorization server's URL it is sent to. */
export async function continueSignIn(browser: Browser, link: string): Promise<string> {
  const start = await browse(browser, link, { method: 'POST', headers: { origin: new URL(link).origin, 'sec-fetch-site': 'same-origin' } });
  expect(start.status, await start.text()).toBe(303);
  return start.headers.get('location')!;
}

/** What a user does with the sign-in link in a browser: the gateway's page and its Continue, the AS's login and consent, the callback. */
export async function signIn(link: string, user: string, browser: Browser = new Map()): Promise<string> {
  expect((await startPage(link)).status).toBe(200);
  const callback = await authorizeAs(await continueSignIn(browser, link), user);
  const done = await browse(browser, callback);
  const page = await done.text();
  expect(done.status, page).toBe(200);
  return page;
}

export async function elicitationOf(promise: Promise<unknown>): Promise<{ url: string; elicitationId: string }> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(McpError);
  expect((err as McpError).code).toBe(-32042);
  // The spec's shape (the v1 client keeps only `elicitations` of the data).
  const data = (err as McpError).data as { elicitations: { mode: string; url: string; elicitationId: string }[] };
  expect(data.elicitations[0]!.mode).toBe('url');
  return data.elicitations[0]!;
}
