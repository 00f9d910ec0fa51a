/**
 * The browser side of users' own upstream accounts (credentials
 * "user-oauth"). The sign-in link's one-time ticket says who the user is (a
 * browser carries no MCP credential):
 *
 * - `GET /oauth/start/<server>?ticket=…` shows which gateway identity the
 *   account will be linked to, with a "Continue" button, and uses nothing
 *   up (link previews fetch URLs too). A bare redirect would give someone
 *   sent another person's link no chance to notice.
 * - `POST` to the same URL (the button; refused from any other site) uses
 *   the ticket up, sets the cookie that binds the sign-in to this browser,
 *   and sends it to the upstream's authorization server.
 * - `GET /oauth/callback` requires that cookie, exchanges the code and
 *   stores the user's tokens.
 *
 * `DELETE /oauth/credentials/<server>`, authenticated like MCP requests,
 * lets users disconnect their own account. `GET /oauth/client-metadata.json`
 * is the gateway's client metadata document (CIMD), which authorization
 * servers that take one fetch to learn who the sign-ins' client is.
 */
import type { Express, NextFunction, Request, RequestHandler, Response } from 'express';
import { bindingCookie, bindingCookieName, clearedBindingCookie, cookieScope, cookieValue, isCrossSitePost } from '../credentials/browser-binding.js';
import { CLIENT_METADATA_PATH, clientMetadataDocument } from '../credentials/client-metadata.js';
import type { UserOAuth } from '../credentials/user-oauth.js';
import { SignInError } from '../credentials/user-oauth.js';
import type { Logger } from '../observability/log.js';
import { escape, page, quoted } from './pages.js';
import { principalOf } from './principal.js';

export interface OAuthRoutesOptions {
  userOAuth: UserOAuth;
  authenticated: RequestHandler;
  log: Logger;
  /** A user disconnected their account: close their connection too. */
  onRevoked: (principal: string, server: string) => void;
}

export function mountOAuthRoutes(app: Express, options: OAuthRoutesOptions): void {
  const { userOAuth, log } = options;
  const unknownServer = (res: Response, server: string) =>
    page(res, 404, { title: 'Unknown server', body: `<p>There is no server ${quoted(server)} to connect here.</p>`, code: 'unknown-server' });

  // Public by nature (an authorization server fetches it); it holds no secret, and changes only with the public URL.
  app.get(CLIENT_METADATA_PATH, (_req: Request, res: Response) => {
    res.set('Cache-Control', 'public, max-age=3600').json(clientMetadataDocument(userOAuth.publicUrl()));
  });

  app.get('/oauth/start/:server', (req: Request, res: Response) => {
    const server = String(req.params.server);
    if (!userOAuth.handles(server)) return unknownServer(res, server);
    try {
      const principal = userOAuth.ticketHolder(server, String(req.query.ticket ?? ''));
      // No action: the form posts to this very URL, ticket included, wherever a proxy mounts the gateway.
      page(res, 200, {
        title: `Connect your ${server} account`,
        body:
          `<p>The ${escape(server)} account you sign in with next will be connected to the gateway identity <strong id="principal">${escape(principal)}</strong>: ` +
          `whoever uses that identity will act as your ${escape(server)} account.</p>` +
          `<p>Continue only if you asked for this link yourself. If someone sent it to you, close this page.</p>` +
          `<form method="post"><button type="submit">Continue</button></form>`,
      });
    } catch (err) {
      failed(res, log, err, server);
    }
  });

  app.post('/oauth/start/:server', async (req: Request, res: Response) => {
    const server = String(req.params.server);
    if (!userOAuth.handles(server)) return unknownServer(res, server);
    if (isCrossSitePost(req.headers, userOAuth.publicUrl())) {
      return page(res, 403, {
        title: 'Sign-in refused',
        body: '<p>This sign-in was started from another site. Open the sign-in link your client gave you, and continue from its page.</p>',
        code: 'cross-site',
      });
    }
    try {
      const begun = await userOAuth.begin(server, String(req.query.ticket ?? ''));
      res.append('Set-Cookie', bindingCookie(begun.state, begun.browserNonce, cookieScope(userOAuth.publicUrl(), req.secure)));
      res.set('Cache-Control', 'no-store').set('Referrer-Policy', 'no-referrer').redirect(303, begun.authorizationUrl.href);
    } catch (err) {
      failed(res, log, err, server);
    }
  });

  app.get('/oauth/callback', async (req: Request, res: Response) => {
    try {
      const query = new URL(req.originalUrl, 'http://callback').searchParams;
      const state = query.get('state') ?? '';
      // One sign-in, one cookie: gone after its callback, whatever the outcome.
      res.append('Set-Cookie', clearedBindingCookie(state, cookieScope(userOAuth.publicUrl(), req.secure)));
      const { principal, server } = await userOAuth.complete(query, cookieValue(req.headers.cookie, bindingCookieName(state)));
      page(res, 200, {
        title: 'Account connected',
        body:
          `<p>Your ${escape(server)} account is connected to the gateway identity <strong id="principal">${escape(principal)}</strong>.</p>` +
          '<p>You can close this window and return to your client.</p>',
      });
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
  if (err instanceof SignInError) return page(res, err.status, { title: 'Sign-in failed', body: `<p>${escape(err.message)}</p>`, code: err.code });
  log.warn('upstream sign-in failed', { server, error: err instanceof Error ? err.message : String(err) });
  page(res, 502, {
    title: 'Sign-in failed',
    body: "<p>The upstream's authorization server could not be reached or refused the request. Try again from your client.</p>",
    code: 'upstream-unreachable',
  });
}
