/**
 * The browser side of users' own upstream accounts (credentials
 * "user-oauth"): `/oauth/start/<server>?ticket=…` sends the browser to the
 * upstream's authorization server, `/oauth/callback` receives the code and
 * stores the user's tokens. The sign-in link's one-time ticket says who the
 * user is (a browser carries no MCP credential). `DELETE
 * /oauth/credentials/<server>`, authenticated like MCP requests, lets users
 * disconnect their own account.
 */
import type { Express, NextFunction, Request, RequestHandler, Response } from 'express';
import type { UserOAuth } from '../credentials/user-oauth.js';
import { SignInError } from '../credentials/user-oauth.js';
import type { Logger } from '../observability/log.js';
import { principalOf } from './http-auth.js';

export interface OAuthRoutesOptions {
  userOAuth: UserOAuth;
  authenticated: RequestHandler;
  log: Logger;
  /** A user disconnected their account: close their connection too. */
  onRevoked: (principal: string, server: string) => void;
}

export function mountOAuthRoutes(app: Express, options: OAuthRoutesOptions): void {
  const { userOAuth, log } = options;
  app.get('/oauth/start/:server', async (req: Request, res: Response) => {
    const server = String(req.params.server);
    if (!userOAuth.handles(server)) return void page(res, 404, 'Unknown server', `There is no server "${server}" to connect here.`);
    try {
      const url = await userOAuth.begin(server, String(req.query.ticket ?? ''));
      res.redirect(302, url.href);
    } catch (err) {
      failed(res, log, err, server);
    }
  });
  app.get('/oauth/callback', async (req: Request, res: Response) => {
    try {
      const query = new URL(req.originalUrl, 'http://callback').searchParams;
      const { server } = await userOAuth.complete(query);
      page(res, 200, 'Account connected', `Your ${server} account is connected. You can close this window and return to your client.`);
    } catch (err) {
      failed(res, log, err);
    }
  });
  app.delete('/oauth/credentials/:server', options.authenticated, async (req: Request, res: Response, next: NextFunction) => {
    try {
      const server = String(req.params.server);
      const principal = principalOf(res).id;
      const removed = await userOAuth.revoke(principal, server);
      options.onRevoked(principal, server);
      res.status(removed ? 200 : 404).json({ server, revoked: removed });
    } catch (err) {
      next(err);
    }
  });
}

function failed(res: Response, log: Logger, err: unknown, server?: string): void {
  if (err instanceof SignInError) return page(res, 400, 'Sign-in failed', err.message);
  log.warn('upstream sign-in failed', { server, error: err instanceof Error ? err.message : String(err) });
  page(res, 502, 'Sign-in failed', 'The upstream\'s authorization server could not be reached or refused the request. Try again from your client.');
}

function page(res: Response, status: number, title: string, text: string): void {
  res
    .status(status)
    .set('Content-Type', 'text/html; charset=utf-8')
    .set('Cache-Control', 'no-store')
    .set('Content-Security-Policy', "default-src 'none'")
    .send(`<!doctype html><meta charset="utf-8"><title>${escape(title)}</title><h1>${escape(title)}</h1><p>${escape(text)}</p>\n`);
}

function escape(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
