import { describe, expect, it } from 'vitest';
import { issueAt, issuesOf, parse, paths, server } from './helpers.js';

const JWT = { issuer: 'https://login.example.com', jwksUri: 'https://login.example.com/jwks' };
const ID_JAG = {
  idpTokenEndpoint: 'https://login.example.com/oauth2/token',
  clientId: 'sb',
  clientSecret: 'idp-secret',
  upstreamClient: { clientId: 'sb-crm', clientSecret: 'as-secret' },
};
const config = (
  own: Record<string, unknown>,
  gateway: Record<string, unknown> = { auth: { jwt: JWT } },
  entry: Record<string, unknown> = { url: 'https://crm.example.com/mcp' },
) => ({
  mcpServers: { crm: entry },
  gateway: { ...gateway, servers: { crm: own } },
});

describe('credentials "id-jag"', () => {
  it('loads its settings into the server config', () => {
    const cfg = parse(config({ credentials: 'id-jag', idJag: { ...ID_JAG, scope: 'crm.read', authorizationServer: 'https://auth.crm.example.com' } }));
    expect(server(cfg, 'crm')).toMatchObject({
      credentials: 'id-jag',
      idJag: { ...ID_JAG, scope: 'crm.read', authorizationServer: 'https://auth.crm.example.com' },
    });
  });

  it('needs its "idJag" block, JWT callers (their token is the subject token) and an HTTP upstream', () => {
    const missing = issuesOf(() => parse(config({ credentials: 'id-jag' })));
    expect(issueAt(missing, 'gateway.servers.crm.credentials').message).toContain('needs "idJag"');
    const noJwt = issuesOf(() => parse(config({ credentials: 'id-jag', idJag: ID_JAG }, {})));
    expect(issueAt(noJwt, 'gateway.servers.crm.credentials')).toMatchObject({
      message: expect.stringContaining('callers must sign in with JWTs'),
      fix: 'configure gateway.auth.jwt',
    });
    const stdio = issuesOf(() => parse(config({ credentials: 'id-jag', idJag: ID_JAG }, undefined, { command: 'crm' })));
    expect(issueAt(stdio, 'gateway.servers.crm.credentials').message).toContain('HTTP upstreams only');
  });

  it('names each missing or malformed key', () => {
    const { upstreamClient: _client, ...withoutClient } = ID_JAG;
    expect(paths(issuesOf(() => parse(config({ credentials: 'id-jag', idJag: withoutClient }))))).toEqual(['gateway.servers.crm.idJag.upstreamClient']);
    expect(paths(issuesOf(() => parse(config({ credentials: 'id-jag', idJag: { ...ID_JAG, idpTokenEndpoint: 'not a url' } }))))).toEqual([
      'gateway.servers.crm.idJag.idpTokenEndpoint',
    ]);
    const typo = issuesOf(() => parse(config({ credentials: 'id-jag', idJag: { ...ID_JAG, clientSecrett: 'x' } })));
    expect(paths(typo)).toEqual(['gateway.servers.crm.idJag.clientSecrett']);
    expect(typo[0]!.fix).toContain('clientSecret');
  });

  it("refuses an IdP token endpoint the caller's token would reach in the clear, but allows loopback http for development", () => {
    const plain = issuesOf(() => parse(config({ credentials: 'id-jag', idJag: { ...ID_JAG, idpTokenEndpoint: 'http://login.example.com/token' } })));
    expect(issueAt(plain, 'gateway.servers.crm.idJag.idpTokenEndpoint').message).toContain('https');
    for (const host of ['127.0.0.1:8443', 'localhost', '[::1]:9000']) {
      expect(() => parse(config({ credentials: 'id-jag', idJag: { ...ID_JAG, idpTokenEndpoint: `http://${host}/token` } }))).not.toThrow();
    }
  });
});

describe('credentials "token-exchange" (the same checks)', () => {
  it('needs "tokenExchange" and JWT callers', () => {
    const issues = issuesOf(() => parse(config({ credentials: 'token-exchange' }, {})));
    expect(issues.filter((i) => i.path === 'gateway.servers.crm.credentials').map((i) => i.message)).toEqual([
      expect.stringContaining('needs "tokenExchange"'),
      expect.stringContaining('callers must sign in with JWTs'),
    ]);
  });
});
