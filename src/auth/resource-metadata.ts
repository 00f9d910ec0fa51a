/**
 * The discovery side of the resource server: RFC 9728 protected-resource
 * metadata (where clients learn which authorization server to use) and the
 * RFC 6750 `WWW-Authenticate: Bearer …` challenges that point to it.
 */

export const WELL_KNOWN_PATH = '/.well-known/oauth-protected-resource';

/** The RFC 9728 metadata document for `resource` (a canonical URL: no fragment). */
export function protectedResourceMetadata(opts: { resource: string; authorizationServers: string[]; scopesSupported: string[] }): Record<string, unknown> {
  const document: Record<string, unknown> = {
    resource: opts.resource,
    authorization_servers: [...opts.authorizationServers],
  };
  if (opts.scopesSupported.length > 0) document.scopes_supported = [...opts.scopesSupported];
  // Tokens are accepted only in the Authorization header, never in a query or body.
  document.bearer_methods_supported = ['header'];
  return document;
}

/**
 * Where the metadata of `resource` is served (RFC 9728 §3.1): at the root, and
 * with the well-known path inserted between the host and the resource's path
 * (a trailing slash of the path removed). For a resource without a path both are the same.
 *   https://h/mcp → https://h/.well-known/oauth-protected-resource
 *                   https://h/.well-known/oauth-protected-resource/mcp
 */
export function metadataUrls(resource: string): { root: string; pathInserted: string } {
  const url = new URL(resource);
  const path = url.pathname.replace(/\/+$/, '');
  return { root: `${url.origin}${WELL_KNOWN_PATH}`, pathInserted: `${url.origin}${WELL_KNOWN_PATH}${path}${url.search}` };
}

export type BearerError = 'invalid_token' | 'insufficient_scope';

/**
 * The value of a `WWW-Authenticate` header:
 *   Bearer error="insufficient_scope", scope="a b", resource_metadata="https://…", error_description="…"
 * Parameters are omitted when not given (and `scope` when empty). RFC 6750 §3
 * allows no `"` or `\` (nor anything outside printable ASCII) in these values:
 * scope tokens containing one are dropped, such characters in the description
 * are replaced, and in the URL percent-encoded.
 */
export function bearerChallenge(opts: { resourceMetadataUrl: string; scope?: string[]; error?: BearerError; description?: string }): string {
  const params: string[] = [];
  if (opts.error) params.push(`error="${opts.error}"`);
  const scope = (opts.scope ?? []).filter((s) => /^[\x21\x23-\x5B\x5D-\x7E]+$/.test(s));
  if (scope.length > 0) params.push(`scope="${[...new Set(scope)].join(' ')}"`);
  params.push(`resource_metadata="${opts.resourceMetadataUrl.replace(/[^\x21\x23-\x5B\x5D-\x7E]/gu, percentEncode)}"`);
  if (opts.description) params.push(`error_description="${opts.description.replace(/[^\x20\x21\x23-\x5B\x5D-\x7E]/gu, "'")}"`);
  return `Bearer ${params.join(', ')}`;
}

function percentEncode(char: string): string {
  return [...Buffer.from(char, 'utf8')].map((b) => `%${b.toString(16).toUpperCase().padStart(2, '0')}`).join('');
}

/**
 * The challenge for a failed authentication (`data.reason` of the
 * UNAUTHENTICATED error): no `error` when no credential was sent (RFC 6750
 * §3.1), `invalid_token` otherwise. `scope` is what a client should ask for.
 */
export function unauthorizedChallenge(opts: { reason: unknown; resourceMetadataUrl: string; scope?: string[] }): string {
  const { reason, resourceMetadataUrl, scope } = opts;
  return reason === 'missing'
    ? bearerChallenge({ resourceMetadataUrl, ...(scope ? { scope } : {}) })
    : bearerChallenge({ resourceMetadataUrl, ...(scope ? { scope } : {}), error: 'invalid_token' });
}
