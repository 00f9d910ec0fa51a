/**
 * The gateway's own OAuth Client ID Metadata Document (CIMD, SEP-991): an
 * RFC 7591-shaped description of the client that users' sign-ins
 * ("user-oauth") are, served at a fixed path under `gateway.publicUrl`. An
 * authorization server that advertises `client_id_metadata_document_supported`
 * fetches it and takes its URL as the client id, so the gateway needs neither
 * a pre-registered client nor dynamic registration there.
 */
import { isHttpsUrl, type OAuthClientMetadata } from '@modelcontextprotocol/client';

/** Where the document is served, under the public URL. */
export const CLIENT_METADATA_PATH = '/oauth/client-metadata.json';

/** The redirect URI of every sign-in (`<publicUrl>/oauth/callback`). */
export function signInRedirectUri(publicUrl: string): string {
  return `${publicUrl}/oauth/callback`;
}

/**
 * The document's URL, which is also the client id it declares; undefined
 * unless the public URL is https (a client id URL must be, and the SDK
 * refuses to use one that is not).
 */
export function clientMetadataUrl(publicUrl: string): string | undefined {
  const url = `${publicUrl}${CLIENT_METADATA_PATH}`;
  return isHttpsUrl(url) ? url : undefined;
}

/**
 * The document: a public client (no secret can be published) using the
 * authorization code flow with refresh tokens, redirected back to the
 * gateway's callback.
 */
export function clientMetadataDocument(publicUrl: string): OAuthClientMetadata & { client_id: string } {
  return {
    client_id: `${publicUrl}${CLIENT_METADATA_PATH}`,
    client_name: 'Switchboard',
    redirect_uris: [signInRedirectUri(publicUrl)],
    grant_types: ['authorization_code', 'refresh_token'],
    response_types: ['code'],
    token_endpoint_auth_method: 'none',
    // Its callback is a web server's, even on a loopback host (where an authorization server would guess "native").
    application_type: 'web',
  };
}
