import { describe, expect, it } from 'vitest';
import { clientMetadataDocument, clientMetadataUrl, signInRedirectUri } from '../../../src/credentials/client-metadata.js';

describe("the gateway's client metadata document (CIMD)", () => {
  it('is a public web client using the code flow, back to the sign-in callback, whose client_id is its own URL', () => {
    expect(clientMetadataDocument('https://gw.example.com')).toEqual({
      client_id: 'https://gw.example.com/oauth/client-metadata.json',
      client_name: 'Switchboard',
      redirect_uris: ['https://gw.example.com/oauth/callback'],
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      token_endpoint_auth_method: 'none',
      application_type: 'web',
    });
    expect(signInRedirectUri('https://gw.example.com/sb')).toBe('https://gw.example.com/sb/oauth/callback');
  });

  it('is offered as a client id only over https (the SDK and authorization servers refuse any other)', () => {
    expect(clientMetadataUrl('https://gw.example.com')).toBe('https://gw.example.com/oauth/client-metadata.json');
    expect(clientMetadataUrl('https://gw.example.com/sb')).toBe('https://gw.example.com/sb/oauth/client-metadata.json');
    expect(clientMetadataUrl('http://127.0.0.1:8080')).toBeUndefined();
  });
});
