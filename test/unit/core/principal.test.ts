/**
 * Principal ids namespaced by credential kind: how each kind's id is formed
 * and read back, what an API key and a JWT with the same bare id become, how
 * hand-written principals (policy tests, `policy explain`) are read, and
 * which callers a reloaded `gateway.auth` no longer accepts.
 */
import { describe, expect, it } from 'vitest';
import { createApiKeyLookup, hashKey } from '../../../src/auth/api-keys.js';
import { createHttpAuthenticator } from '../../../src/auth/http.js';
import { principalFromInput } from '../../../src/core/principal-input.js';
import { ANONYMOUS, apiKeyPrincipal, jwtPrincipal, parsePrincipalId, principalId, requestPrincipal, stdioPrincipal } from '../../../src/core/principal.js';
import { revokedBy } from '../../../src/auth/revoked.js';
import type { AuthSettings, JwtSettings } from '../../../src/config/schema/index.js';
import { GatewayError } from '../../../src/core/errors.js';

const ISSUER = 'https://idp.example.com';

describe('principal ids', () => {
  it('are apikey:<id>, jwt:<issuer>#<sub>, stdio:<id> and anonymous', () => {
    expect(principalId('apikey', 'ci-bot')).toBe('apikey:ci-bot');
    expect(principalId('jwt', 'alice', ISSUER)).toBe('jwt:https://idp.example.com#alice');
    expect(principalId('stdio', 'local')).toBe('stdio:local');
    expect(principalId('anonymous', '')).toBe('anonymous');
    expect(() => principalId('jwt', 'alice')).toThrow(TypeError);
  });

  it('read back into kind, subject and issuer; a JWT id splits at its first # (an issuer has no fragment, a subject may have #)', () => {
    expect(parsePrincipalId('apikey:ci-bot')).toEqual({ kind: 'apikey', subject: 'ci-bot' });
    expect(parsePrincipalId('stdio:local')).toEqual({ kind: 'stdio', subject: 'local' });
    expect(parsePrincipalId('anonymous')).toEqual({ kind: 'anonymous', subject: '' });
    expect(parsePrincipalId('jwt:https://idp.example.com#a#b')).toEqual({ kind: 'jwt', issuer: ISSUER, subject: 'a#b' });
    // An API key id may itself contain a colon: the first one separates the kind.
    expect(parsePrincipalId('apikey:team:bot')).toEqual({ kind: 'apikey', subject: 'team:bot' });
  });

  it('without a known namespace do not parse', () => {
    for (const bare of ['ci-bot', 'alice', 'apikey:', 'stdio:', 'jwt:no-hash', 'jwt:#sub', 'jwt:iss#', 'user:alice', ':x', 'Anonymous']) {
      expect(parsePrincipalId(bare), bare).toBeUndefined();
    }
  });

  it('keep an API key, a JWT and the stdio caller with the same bare id apart', () => {
    const key = apiKeyPrincipal({ id: 'alice', scopes: ['s'], groups: ['g'] });
    const jwt = jwtPrincipal(ISSUER, 'alice', { scopes: [], groups: [], claims: { sub: 'alice' } });
    const stdio = stdioPrincipal({ id: 'alice' });
    expect(key).toEqual({ id: 'apikey:alice', kind: 'apikey', subject: 'alice', scopes: ['s'], groups: ['g'], claims: { auth: 'api-key' } });
    expect(jwt).toMatchObject({ id: `jwt:${ISSUER}#alice`, kind: 'jwt', subject: 'alice' });
    expect(stdio).toMatchObject({ id: 'stdio:alice', kind: 'stdio', subject: 'alice' });
    expect(new Set([key.id, jwt.id, stdio.id, ANONYMOUS.id]).size).toBe(4);
    // The default stdio principal stays readable.
    expect(stdioPrincipal({ id: 'local' }).id).toBe('stdio:local');
    expect(ANONYMOUS).toEqual({ id: 'anonymous', kind: 'anonymous', subject: '', scopes: [], groups: [], claims: {} });
  });

  it('an API key lookup and the HTTP authenticator yield the namespaced principal', async () => {
    const keys = [{ id: 'ci-bot', sha256: hashKey('sk-ci'), scopes: ['repo.read'], groups: ['bots'] }];
    expect(createApiKeyLookup(keys)('sk-ci')).toMatchObject({ id: 'apikey:ci-bot', kind: 'apikey', subject: 'ci-bot' });
    const auth = createHttpAuthenticator({ apiKeys: keys });
    expect(await auth({ 'x-api-key': 'sk-ci' })).toMatchObject({ id: 'apikey:ci-bot', kind: 'apikey' });
    expect(await createHttpAuthenticator({ apiKeys: [], required: false })({})).toBe(ANONYMOUS);
  });
});

describe('a hand-written principal (policy tests, policy explain)', () => {
  it('is kind + un-namespaced id, or a namespaced id alone', () => {
    expect(principalFromInput({ kind: 'apikey', id: 'ci-bot', groups: ['bots'] })).toEqual({
      ok: true,
      principal: { id: 'apikey:ci-bot', kind: 'apikey', subject: 'ci-bot', scopes: [], groups: ['bots'], claims: {} },
    });
    expect(principalFromInput({ id: 'apikey:ci-bot' })).toMatchObject({ ok: true, principal: { id: 'apikey:ci-bot', kind: 'apikey', subject: 'ci-bot' } });
    expect(principalFromInput({ kind: 'jwt', issuer: ISSUER, id: 'alice' })).toMatchObject({ ok: true, principal: { id: `jwt:${ISSUER}#alice`, kind: 'jwt' } });
    expect(principalFromInput({ id: `jwt:${ISSUER}#alice` })).toMatchObject({ ok: true, principal: { kind: 'jwt', subject: 'alice' } });
    expect(principalFromInput({ kind: 'stdio', id: 'local' })).toMatchObject({ ok: true, principal: { id: 'stdio:local' } });
    expect(principalFromInput({ kind: 'anonymous' })).toMatchObject({ ok: true, principal: { id: 'anonymous', kind: 'anonymous', subject: '' } });
  });

  it('defaults to the API key "test", and a JWT to the configured issuer when one is given', () => {
    expect(principalFromInput({ scopes: ['x'] })).toMatchObject({ ok: true, principal: { id: 'apikey:test', kind: 'apikey', scopes: ['x'] } });
    expect(principalFromInput({ kind: 'jwt', id: 'alice' }, ISSUER)).toMatchObject({ ok: true, principal: { id: `jwt:${ISSUER}#alice` } });
  });

  it('refuses a bare id, with the namespaced form as the fix', () => {
    const bare = principalFromInput({ id: 'ci-bot' });
    expect(bare).toMatchObject({ ok: false, key: 'id' });
    expect(bare.ok === false && bare.fix).toContain('"apikey:ci-bot"');
  });

  it.each([
    [{ kind: 'jwt', id: 'alice' }, 'issuer'],
    [{ kind: 'apikey', id: 'x', issuer: ISSUER }, 'issuer'],
    [{ id: 'apikey:x', issuer: ISSUER }, 'issuer'],
    [{ kind: 'apikey' }, 'id'],
    [{ kind: 'anonymous', id: 'someone' }, 'id'],
    [{ kind: 'robot', id: 'x' }, 'kind'],
  ] as const)('refuses %j (the problem is at "%s")', (input, key) => {
    expect(principalFromInput(input)).toMatchObject({ ok: false, key });
  });
});

describe('the principal a request of a session is decided with', () => {
  const owner = apiKeyPrincipal({ id: 'alice', groups: ['ops'] });

  it("is the request's own when it carries one (groups and scopes as they are now), else the session's", () => {
    const now = apiKeyPrincipal({ id: 'alice', groups: [] });
    expect(requestPrincipal(owner, now)).toBe(now);
    expect(requestPrincipal(owner, undefined)).toBe(owner);
  });

  it("is refused when it is another principal's (the edge answers 403 first)", () => {
    const impostor = jwtPrincipal(ISSUER, 'alice', { scopes: [], groups: [], claims: {} });
    const err = (() => {
      try {
        return requestPrincipal(owner, impostor);
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(GatewayError);
    expect((err as GatewayError).code).toBe('UNAUTHENTICATED');
  });
});

describe('callers a reloaded gateway.auth no longer accepts', () => {
  const jwt = (over: Partial<JwtSettings> = {}): JwtSettings => ({
    issuer: ISSUER,
    jwksUri: `${ISSUER}/jwks.json`,
    algorithms: ['RS256'],
    clockToleranceSec: 30,
    claims: { id: 'sub', scopes: 'scope', groups: 'groups' },
    authorizationServers: [ISSUER],
    scopesSupported: [],
    jwksCacheMaxAgeMs: 600_000,
    jwksCooldownMs: 30_000,
    ...over,
  });
  const key = (id: string, secret = `sk-${id}`) => ({ id, sha256: hashKey(secret), scopes: [], groups: [] });
  const before: AuthSettings = { apiKeys: [key('alice'), key('bob'), key('carol')], jwt: jwt() };
  const alice = apiKeyPrincipal({ id: 'alice' });
  const bob = apiKeyPrincipal({ id: 'bob' });
  const carol = apiKeyPrincipal({ id: 'carol' });
  const dave = jwtPrincipal(ISSUER, 'dave', { scopes: [], groups: [], claims: {} });

  it('are the keys removed or given another secret; a key whose groups changed stays', () => {
    const revoked = revokedBy(before, { apiKeys: [{ ...key('alice'), groups: ['new'] }, key('carol', 'sk-rotated')], jwt: jwt() });
    expect([alice, bob, carol, dave].map(revoked)).toEqual([false, true, true, false]);
  });

  it('are the JWT callers when who the tokens are trusted from changes, not when only cache timings or advertised scopes do', () => {
    expect(revokedBy(before, { ...before, jwt: jwt({ issuer: 'https://other.example.com' }) })(dave)).toBe(true);
    expect(revokedBy(before, { ...before, jwt: jwt({ claims: { id: 'email', scopes: 'scope', groups: 'groups' } }) })(dave)).toBe(true);
    expect(revokedBy(before, { apiKeys: before.apiKeys })(dave)).toBe(true);
    expect(revokedBy(before, { ...before, jwt: jwt({ jwksCacheMaxAgeMs: 1, scopesSupported: ['x'] }) })(dave)).toBe(false);
  });

  it('are anonymous callers once a credential becomes required; never the stdio caller', () => {
    expect(revokedBy({ apiKeys: [] }, { apiKeys: [key('alice')] })(ANONYMOUS)).toBe(true);
    expect(revokedBy({ apiKeys: [] }, { apiKeys: [key('alice')], required: false })(ANONYMOUS)).toBe(false);
    expect(revokedBy(before, { apiKeys: [] })(stdioPrincipal({ id: 'local' }))).toBe(false);
  });
});
