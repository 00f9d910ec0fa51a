import { describe, expect, it } from 'vitest';
import { bearerChallenge, metadataUrls, protectedResourceMetadata, unauthorizedChallenge } from '../../../src/auth/resource-metadata.js';

const PRM = 'https://gw.example.com/.well-known/oauth-protected-resource/mcp';

describe('protectedResourceMetadata', () => {
  it('is an RFC 9728 document naming the authorization servers and scopes', () => {
    expect(
      protectedResourceMetadata({
        resource: 'https://gw.example.com/mcp',
        authorizationServers: ['https://issuer.example.com'],
        scopesSupported: ['tools.read', 'tools.write'],
      }),
    ).toEqual({
      resource: 'https://gw.example.com/mcp',
      authorization_servers: ['https://issuer.example.com'],
      scopes_supported: ['tools.read', 'tools.write'],
      bearer_methods_supported: ['header'],
    });
  });

  it('omits scopes_supported when there are none', () => {
    const doc = protectedResourceMetadata({ resource: 'https://gw.example.com/mcp', authorizationServers: ['https://a', 'https://b'], scopesSupported: [] });
    expect(doc).not.toHaveProperty('scopes_supported');
    expect(doc.authorization_servers).toEqual(['https://a', 'https://b']);
  });

  it('does not share arrays with its input', () => {
    const servers = ['https://a'];
    const doc = protectedResourceMetadata({ resource: 'https://gw', authorizationServers: servers, scopesSupported: [] });
    servers.push('https://b');
    expect(doc.authorization_servers).toEqual(['https://a']);
  });
});

describe('metadataUrls', () => {
  it('gives the root and the path-inserted form', () => {
    expect(metadataUrls('https://gw.example.com/mcp')).toEqual({
      root: 'https://gw.example.com/.well-known/oauth-protected-resource',
      pathInserted: 'https://gw.example.com/.well-known/oauth-protected-resource/mcp',
    });
  });

  it('keeps the port and nested paths, and drops a trailing slash', () => {
    expect(metadataUrls('http://127.0.0.1:8080/api/v1/mcp/')).toEqual({
      root: 'http://127.0.0.1:8080/.well-known/oauth-protected-resource',
      pathInserted: 'http://127.0.0.1:8080/.well-known/oauth-protected-resource/api/v1/mcp',
    });
  });

  it('gives the same URL twice for a resource without a path', () => {
    for (const resource of ['https://gw.example.com', 'https://gw.example.com/']) {
      const { root, pathInserted } = metadataUrls(resource);
      expect(root).toBe('https://gw.example.com/.well-known/oauth-protected-resource');
      expect(pathInserted).toBe(root);
    }
  });

  it('keeps a query after the inserted path', () => {
    expect(metadataUrls('https://gw.example.com/mcp?tenant=a').pathInserted).toBe('https://gw.example.com/.well-known/oauth-protected-resource/mcp?tenant=a');
  });
});

describe('bearerChallenge', () => {
  it('points to the metadata, with the scope to ask for (401)', () => {
    expect(bearerChallenge({ resourceMetadataUrl: PRM })).toBe(`Bearer resource_metadata="${PRM}"`);
    expect(bearerChallenge({ resourceMetadataUrl: PRM, scope: ['tools.read'] })).toBe(`Bearer scope="tools.read", resource_metadata="${PRM}"`);
    expect(bearerChallenge({ resourceMetadataUrl: PRM, scope: [] })).toBe(`Bearer resource_metadata="${PRM}"`);
    expect(bearerChallenge({ resourceMetadataUrl: PRM, error: 'invalid_token', scope: ['a', 'b'] })).toBe(
      `Bearer error="invalid_token", scope="a b", resource_metadata="${PRM}"`,
    );
  });

  it('names the needed scopes on insufficient_scope (403)', () => {
    expect(
      bearerChallenge({
        resourceMetadataUrl: PRM,
        error: 'insufficient_scope',
        scope: ['files:read', 'files:write'],
        description: 'Additional file write permission required',
      }),
    ).toBe(
      `Bearer error="insufficient_scope", scope="files:read files:write", resource_metadata="${PRM}", error_description="Additional file write permission required"`,
    );
  });

  it('never lets a quote, backslash or control character into a value', () => {
    const header = bearerChallenge({
      resourceMetadataUrl: 'https://gw.example.com/.well-known/oauth-protected-resource/a"b\\c é',
      error: 'insufficient_scope',
      scope: ['ok', 'bad"scope', 'back\\slash', 'sp ace', '', 'ok'],
      description: 'say "hi"\\\r\nSet-Cookie: x',
    });
    expect(header).toBe(
      'Bearer error="insufficient_scope", scope="ok", resource_metadata="https://gw.example.com/.well-known/oauth-protected-resource/a%22b%5Cc%20%C3%A9", error_description="say \'hi\'\'\'\'Set-Cookie: x"',
    );
    // Every quoted value is RFC 6750-clean.
    for (const [, value] of header.matchAll(/="([^"]*)"/g)) expect(value).toMatch(/^[\x20\x21\x23-\x5B\x5D-\x7E]*$/);
  });
});

describe('unauthorizedChallenge', () => {
  it('has no error code when no credential was sent, invalid_token otherwise', () => {
    expect(unauthorizedChallenge({ reason: 'missing', resourceMetadataUrl: PRM, scope: ['mcp'] })).toBe(`Bearer scope="mcp", resource_metadata="${PRM}"`);
    for (const reason of ['invalid', 'expired', 'audience', 'issuer', 'signature', 'malformed', 'unavailable']) {
      expect(unauthorizedChallenge({ reason, resourceMetadataUrl: PRM })).toBe(`Bearer error="invalid_token", resource_metadata="${PRM}"`);
    }
  });
});
