/**
 * `oauth` of a remote server entry: OAuth from the gateway to an upstream,
 * either the `.mcp.json` authorization-code form or client credentials.
 */
import { z } from 'zod';
import { HttpUrl } from './primitives.js';

/** Scopes as Claude Code's `.mcp.json` writes them: one space-separated string. */
const OAuthScopes = z.string().min(1).describe('Space-separated scopes to request (default: those the server advertises).');
const AuthServerMetadataUrl = HttpUrl.describe(
  "URL of the authorization server's RFC 8414 metadata; skips discovery through the server (and pins where credentials go).",
);

/**
 * The `.mcp.json` form (`{ clientId, callbackPort }`, as Claude Code writes it):
 * authorization code + PKCE, run once by an operator with `switchboard login`.
 */
export const AuthorizationCodeOAuthSchema = z
  .strictObject({
    clientId: z.string().min(1).describe('The client id registered with the authorization server.'),
    callbackPort: z
      .int()
      .min(1)
      .max(65535)
      .describe('`switchboard login` listens on this loopback port; the redirect URI is http://localhost:<port>/callback.'),
    clientSecret: z.string().min(1).optional().describe('Only for a confidential client; use ${VAR}.'),
    scopes: OAuthScopes.optional(),
    authServerMetadataUrl: AuthServerMetadataUrl.optional(),
    grant: z.literal('authorization_code').optional().describe('The default: authorization code + PKCE.'),
  })
  .describe('Authorization code + PKCE: run `switchboard login <server>` once; tokens are stored and refreshed.');

/** Machine-to-machine: the gateway obtains (and renews) tokens itself. */
export const ClientCredentialsOAuthSchema = z
  .strictObject({
    grant: z.literal('client_credentials'),
    clientId: z.string().min(1),
    clientSecret: z.string().min(1).describe('Use ${VAR}: never a literal in a committed file.'),
    scopes: OAuthScopes.optional(),
    tokenEndpoint: HttpUrl.optional().describe('Token endpoint of the authorization server (default: discovered from the server).'),
    authServerMetadataUrl: AuthServerMetadataUrl.optional(),
  })
  .refine((o) => o.tokenEndpoint === undefined || o.authServerMetadataUrl === undefined, {
    path: ['authServerMetadataUrl'],
    error: 'set either "tokenEndpoint" or "authServerMetadataUrl", not both',
    params: { fix: 'remove one of them' },
  })
  .describe('OAuth client credentials (machine to machine).');

export const UpstreamOAuthSchema = z.discriminatedUnion('grant', [AuthorizationCodeOAuthSchema, ClientCredentialsOAuthSchema]);

/** `oauth` of a remote entry, as the upstream side uses it. */
export type UpstreamOAuthSpec =
  | {
      grant: 'authorization_code';
      clientId: string;
      callbackPort: number;
      clientSecret?: string;
      scopes?: string;
      authServerMetadataUrl?: string;
      /** Absolute: `<gateway.stateDir>/tokens/<server>.json`. */
      tokenFile: string;
    }
  | {
      grant: 'client_credentials';
      clientId: string;
      clientSecret: string;
      scopes?: string;
      tokenEndpoint?: string;
      authServerMetadataUrl?: string;
    };
