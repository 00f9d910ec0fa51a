/**
 * Where an OAuth client looks for the gateway's authorization server.
 *
 * - With bearer JWTs: RFC 9728 protected-resource metadata naming the
 *   identity provider, public and readable cross-origin (browser-based
 *   clients fetch it), at the well-known path and at its variant for each
 *   endpoint.
 * - Without: there is nothing to sign in to. Some clients try OAuth on any
 *   401 anyway (mcp-remote does), find no metadata and fall back to
 *   registering at `/register` on the gateway's origin. Those discovery and
 *   registration paths answer 404 with a body that says so and names the
 *   header to send instead, and such a client shows that body in its error.
 */
import type { Express, Request, Response } from 'express';
import { protectedResourceMetadata, WELL_KNOWN_PATH } from '../auth/resource-metadata.js';
import type { ProtectedResource } from './admission.js';

/** What a client probing for OAuth on a gateway without an authorization server is told (an OAuth error body, RFC 6749 style). */
export const NO_AUTHORIZATION_SERVER = {
  error: 'no_authorization_server',
  error_description:
    'This gateway has no OAuth authorization server. Where it asks for a key, send it as the header "X-API-Key: <key>" ' +
    '(or "Authorization: Bearer <key>"); with mcp-remote: --header X-API-Key:<key>',
};

/** The paths an OAuth client probes (RFC 9728, RFC 8414, OpenID discovery) and the registration fallback it uses without metadata. */
const DISCOVERY_PATHS = [WELL_KNOWN_PATH, '/.well-known/oauth-authorization-server', '/.well-known/openid-configuration'];
const FALLBACK_PATHS = ['/register', '/authorize', '/token'];

export function mountAuthorizationMetadata(app: Express, pr: ProtectedResource | undefined, endpointPaths: readonly string[]): void {
  if (pr) {
    const serveMetadata = (_req: Request, res: Response) => {
      res.setHeader('Access-Control-Allow-Origin', '*');
      res.json(protectedResourceMetadata({ resource: pr.resource(), authorizationServers: pr.authorizationServers, scopesSupported: pr.scopesSupported }));
    };
    app.get(WELL_KNOWN_PATH, serveMetadata);
    for (const path of endpointPaths) app.get(`${WELL_KNOWN_PATH}${path}`, serveMetadata);
    return;
  }
  const explain = (_req: Request, res: Response) => {
    res.setHeader('Access-Control-Allow-Origin', '*');
    res.status(404).json(NO_AUTHORIZATION_SERVER);
  };
  for (const path of DISCOVERY_PATHS) {
    app.all(path, explain);
    for (const endpoint of endpointPaths) app.all(`${path}${endpoint}`, explain);
  }
  for (const path of FALLBACK_PATHS) app.all(path, explain);
}
