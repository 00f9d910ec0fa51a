import { describe, expect, it } from 'vitest';
import type { ServerConfig } from '../../../src/config/schema/index.js';
import { IssuerBoundClients, UserAuthProvider } from '../../../src/credentials/user-auth-provider.js';

const A = 'https://as-a.example.com';
const B = 'https://as-b.example.com';
const DOCUMENT = 'https://gw.example.com/oauth/client-metadata.json';

function server(userOAuth?: ServerConfig['userOAuth']): ServerConfig {
  return {
    name: 'crm',
    spec: { type: 'http', url: 'https://crm.example.com/mcp', headers: {} },
    credentials: 'user-oauth',
    ...(userOAuth ? { userOAuth } : {}),
  } as unknown as ServerConfig;
}

describe('the client a user sign-in uses', () => {
  it("is a web client whose callback is the gateway's, whatever its host", () => {
    const provider = new UserAuthProvider(server(), 'http://127.0.0.1:8080', new IssuerBoundClients());
    expect(provider.clientMetadata).toMatchObject({ redirect_uris: ['http://127.0.0.1:8080/oauth/callback'], application_type: 'web' });
  });

  it('offers the metadata document URL (CIMD) only without a configured client, and only over https', () => {
    const clients = new IssuerBoundClients();
    expect(new UserAuthProvider(server(), 'https://gw.example.com', clients).clientMetadataUrl).toBe(DOCUMENT);
    expect(new UserAuthProvider(server(), 'http://gw.example.com', clients).clientMetadataUrl).toBeUndefined();
    expect(new UserAuthProvider(server({ clientId: 'sb' }), 'https://gw.example.com', clients).clientMetadataUrl).toBeUndefined();
  });

  it('binds a configured client to the first issuer it is used with, so the SDK never offers it to another', () => {
    const clients = new IssuerBoundClients();
    const config = server({ clientId: 'sb', clientSecret: 'secret' });
    expect(new UserAuthProvider(config, 'https://gw.example.com', clients).clientInformation({ issuer: A })).toEqual({
      client_id: 'sb',
      client_secret: 'secret',
      issuer: A,
    });
    // Asked at another authorization server: still stamped with the first one's issuer (the SDK discards it there).
    expect(new UserAuthProvider(config, 'https://gw.example.com', clients).clientInformation({ issuer: B })).toMatchObject({ issuer: A });
  });

  it('keeps a registered client per (server, issuer), and never the metadata document URL', () => {
    const clients = new IssuerBoundClients();
    const first = new UserAuthProvider(server(), 'https://gw.example.com', clients);
    expect(first.clientInformation({ issuer: A })).toBeUndefined();
    first.saveClientInformation({ client_id: 'dcr-1', issuer: A }, { issuer: A });
    expect(new UserAuthProvider(server(), 'https://gw.example.com', clients).clientInformation({ issuer: A })).toEqual({ client_id: 'dcr-1', issuer: A });
    expect(new UserAuthProvider(server(), 'https://gw.example.com', clients).clientInformation({ issuer: B })).toBeUndefined();

    const cimd = new UserAuthProvider(server(), 'https://gw.example.com', clients);
    cimd.saveClientInformation({ client_id: DOCUMENT, issuer: B }, { issuer: B });
    // The sign-in that chose it keeps it for its second leg; the next one decides again.
    expect(cimd.clientInformation({ issuer: B })).toEqual({ client_id: DOCUMENT, issuer: B });
    expect(new UserAuthProvider(server(), 'https://gw.example.com', clients).clientInformation({ issuer: B })).toBeUndefined();
  });
});
