import { createPublicKey, generateKeyPairSync } from 'node:crypto';
import { SignJWT, type JWK } from 'jose';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { hashKey } from '../../../src/auth/api-keys.js';
import { createHttpAuthenticator } from '../../../src/auth/http.js';
import { MAX_JWKS_BYTES } from '../../../src/auth/jwks-fetch.js';
import { createJwtVerifier, looksLikeJwt, type JwtVerifier, type JwtVerifierOptions } from '../../../src/auth/jwt.js';
import { VERIFIED_TTL_MS } from '../../../src/auth/verified-tokens.js';
import { AuthSchema, JwtSchema, type JwtSettings } from '../../../src/config/schema/index.js';
import { GatewayError } from '../../../src/core/errors.js';
import { makeKey, nowSec, signToken, startJwksServer, type JwksServer, type TestKey } from '../../helpers/jwks-server.js';

const ISSUER = 'https://issuer.example.com';
const RESOURCE = 'https://gw.example.com/mcp';
/** The principal id of a token of ISSUER whose id claim is `sub` (ids are namespaced by kind: auth/principal.ts). */
const JWT_ID = (sub: string) => `jwt:${ISSUER}#${sub}`;
const GOOD = { iss: ISSUER, aud: RESOURCE, sub: 'alice', scope: 'tools.read tools.write', groups: ['eng'] };
/** Makes each token of a test its own (a token already verified is not verified again, so would not reach the JWKS). */
let seq = 0;

let rsa: TestKey; // in every JWKS
let ec: TestKey; // in every JWKS
let ed: TestKey; // in every JWKS
let rotated: TestKey; // added later
let third: TestKey; // added later still
let rogue: TestKey; // never published
const servers: JwksServer[] = [];

beforeAll(async () => {
  [rsa, ec, ed, rotated, third, rogue] = await Promise.all([
    makeKey('rsa-1', 'RS256'),
    makeKey('ec-1', 'ES256'),
    makeKey('ed-1', 'EdDSA'),
    makeKey('rsa-2', 'RS256'),
    makeKey('rsa-3', 'RS256'),
    makeKey('rogue', 'RS256'),
  ]);
});

afterAll(async () => {
  await Promise.all(servers.map((s) => s.close()));
});

async function server(keys: JWK[] = [rsa.jwk, ec.jwk, ed.jwk]): Promise<JwksServer> {
  const s = await startJwksServer(keys);
  servers.push(s);
  return s;
}

/** Settings as the config loader produces them (defaults applied). */
function settings(input: Record<string, unknown>): JwtSettings {
  return JwtSchema.parse({ issuer: ISSUER, ...input });
}

function verifier(input: Record<string, unknown>, options: Partial<JwtVerifierOptions> = {}): JwtVerifier {
  return createJwtVerifier(settings(input), { audience: RESOURCE, ...options });
}

/** The `data.reason` a rejected promise carries (fails the test if it resolves or throws something else). */
async function reasonOf(promise: Promise<unknown>): Promise<unknown> {
  const err = await promise.then(
    () => expect.fail('expected a rejection'),
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(GatewayError);
  expect((err as GatewayError).code).toBe('UNAUTHENTICATED');
  return (err as GatewayError).data.reason;
}

describe('createJwtVerifier (JWKS URL)', () => {
  let jwks: JwksServer;
  let v: JwtVerifier;
  beforeAll(async () => {
    jwks = await server();
    v = verifier({ jwksUri: jwks.url });
  });

  it('accepts a valid token and maps it to a principal', async () => {
    const token = await signToken(rsa, GOOD);
    const principal = await v.verify(token);
    expect(principal).toMatchObject({ id: JWT_ID('alice'), kind: 'jwt', subject: 'alice', scopes: ['tools.read', 'tools.write'], groups: ['eng'] });
    expect(principal.claims).toMatchObject({ iss: ISSUER, aud: RESOURCE, sub: 'alice', scope: 'tools.read tools.write' });
    expect(Object.keys(principal).sort()).toEqual(['claims', 'groups', 'id', 'kind', 'scopes', 'subject']);
    expect(JSON.stringify(principal)).not.toContain(token.split('.')[2]);
  });

  it('accepts ES256 and EdDSA tokens', async () => {
    expect((await v.verify(await signToken(ec, GOOD))).id).toBe(JWT_ID('alice'));
    expect((await v.verify(await signToken(ed, GOOD))).id).toBe(JWT_ID('alice'));
  });

  it('rejects another issuer', async () => {
    expect(await reasonOf(v.verify(await signToken(rsa, { ...GOOD, iss: 'https://evil.example.com' })))).toBe('issuer');
    const { iss: _iss, ...noIssuer } = GOOD;
    expect(await reasonOf(v.verify(await signToken(rsa, noIssuer)))).toBe('issuer');
  });

  it('rejects a token issued for another audience, or for none', async () => {
    expect(await reasonOf(v.verify(await signToken(rsa, { ...GOOD, aud: 'https://other.example.com/mcp' })))).toBe('audience');
    const { aud: _aud, ...noAudience } = GOOD;
    expect(await reasonOf(v.verify(await signToken(rsa, noAudience)))).toBe('audience');
  });

  it('accepts an audience array containing the gateway', async () => {
    const token = await signToken(rsa, { ...GOOD, aud: ['https://other.example.com', RESOURCE] });
    expect((await v.verify(token)).id).toBe(JWT_ID('alice'));
  });

  it('uses the configured audience instead of the default', async () => {
    const custom = verifier({ jwksUri: jwks.url, audience: ['api://switchboard', 'switchboard'] });
    expect((await custom.verify(await signToken(rsa, { ...GOOD, aud: 'switchboard' }))).id).toBe(JWT_ID('alice'));
    expect(await reasonOf(custom.verify(await signToken(rsa, GOOD)))).toBe('audience');
  });

  it('asks an audience function on every verification', async () => {
    let current = 'http://127.0.0.1:0/mcp';
    const lazy = verifier({ jwksUri: jwks.url }, { audience: () => current });
    const token = await signToken(rsa, { ...GOOD, aud: 'http://127.0.0.1:43210/mcp' });
    expect(await reasonOf(lazy.verify(token))).toBe('audience');
    current = 'http://127.0.0.1:43210/mcp';
    expect((await lazy.verify(token)).id).toBe(JWT_ID('alice'));
  });

  it('rejects an expired token, within the clock tolerance only', async () => {
    expect((await v.verify(await signToken(rsa, GOOD, { exp: nowSec() - 30 }))).id).toBe(JWT_ID('alice'));
    expect(await reasonOf(v.verify(await signToken(rsa, GOOD, { exp: nowSec() - 120 })))).toBe('expired');
    const strict = verifier({ jwksUri: jwks.url, clockToleranceSec: 0 });
    expect(await reasonOf(strict.verify(await signToken(rsa, GOOD, { exp: nowSec() - 5 })))).toBe('expired');
  });

  it('rejects a token not yet valid beyond the tolerance', async () => {
    expect((await v.verify(await signToken(rsa, { ...GOOD, nbf: nowSec() + 30 }))).id).toBe(JWT_ID('alice'));
    expect(await reasonOf(v.verify(await signToken(rsa, { ...GOOD, nbf: nowSec() + 600 })))).toBe('invalid');
  });

  it('requires an expiry', async () => {
    expect(await reasonOf(v.verify(await signToken(rsa, GOOD, { exp: null })))).toBe('invalid');
  });

  it('rejects a key that is not in the set, and a wrong signature', async () => {
    expect(await reasonOf(v.verify(await signToken(rogue, GOOD)))).toBe('signature');
    // Signed by an unpublished key but claiming a published kid.
    expect(await reasonOf(v.verify(await signToken(rogue, GOOD, { kid: rsa.kid })))).toBe('signature');
    const [header, , signature] = (await signToken(rsa, GOOD)).split('.');
    const forged = Buffer.from(JSON.stringify({ ...GOOD, sub: 'root' })).toString('base64url');
    expect(await reasonOf(v.verify(`${header}.${forged}.${signature}`))).toBe('signature');
  });

  it('rejects algorithms that are not allowed, without fetching keys', async () => {
    const own = await server();
    const esOnly = verifier({ jwksUri: own.url, algorithms: ['ES256'] });
    expect(await reasonOf(esOnly.verify(await signToken(rsa, GOOD)))).toBe('invalid');
    const hs = await new SignJWT({ ...GOOD }).setProtectedHeader({ alg: 'HS256', kid: rsa.kid }).setExpirationTime('5m').sign(new Uint8Array(32).fill(7));
    expect(await reasonOf(esOnly.verify(hs))).toBe('invalid');
    expect(await reasonOf(verifier({ jwksUri: own.url }).verify(hs))).toBe('invalid');
    const none = `${Buffer.from('{"alg":"none"}').toString('base64url')}.${Buffer.from(JSON.stringify(GOOD)).toString('base64url')}.`;
    expect(await reasonOf(esOnly.verify(none))).toBe('malformed');
    const noneWithSig = `${none}AAAA`;
    expect(await reasonOf(esOnly.verify(noneWithSig))).toBe('invalid');
    expect(own.fetches).toBe(0);
    expect((await esOnly.verify(await signToken(ec, GOOD))).id).toBe(JWT_ID('alice'));
  });

  it('rejects malformed tokens', async () => {
    for (const token of ['', 'abc', 'a.b', 'a.b.c.d', 'a.b.c', 'e30.e30.sig!', `${Buffer.from('[1]').toString('base64url')}.e30.AAAA`]) {
      expect(await reasonOf(v.verify(token)), token).toBe('malformed');
    }
    const [header, , signature] = (await signToken(rsa, GOOD)).split('.');
    expect(await reasonOf(v.verify(`${header}.${Buffer.from('not json').toString('base64url')}.${signature}`))).toMatch(/^(malformed|signature)$/);
  });
});

describe('JWKS cache', () => {
  let clock = 1_000_000;
  const now = () => clock;
  afterEach(() => {
    clock = 1_000_000;
  });

  it('fetches once for concurrent first requests and then serves from the cache', async () => {
    const jwks = await server();
    const v = verifier({ jwksUri: jwks.url }, { now });
    const tokens = await Promise.all(Array.from({ length: 10 }, () => signToken(rsa, GOOD)));
    await Promise.all(tokens.map((t) => v.verify(t)));
    await v.verify(await signToken(ec, GOOD));
    expect(jwks.fetches).toBe(1);
  });

  it('refetches when the cache is older than jwksCacheMaxAgeMs', async () => {
    const jwks = await server();
    const v = verifier({ jwksUri: jwks.url, jwksCacheMaxAgeMs: 60_000 }, { now });
    await v.verify(await signToken(rsa, { ...GOOD, jti: `${++seq}` }));
    clock += 59_000;
    await v.verify(await signToken(rsa, { ...GOOD, jti: `${++seq}` }));
    expect(jwks.fetches).toBe(1);
    clock += 2_000;
    await v.verify(await signToken(rsa, { ...GOOD, jti: `${++seq}` }));
    expect(jwks.fetches).toBe(2);
  });

  it('picks up a rotated key with one refetch on its unknown kid', async () => {
    const jwks = await server([rsa.jwk]);
    const v = verifier({ jwksUri: jwks.url }, { now });
    await v.verify(await signToken(rsa, GOOD));
    expect(jwks.fetches).toBe(1);
    jwks.keys = [rsa.jwk, rotated.jwk];
    expect((await v.verify(await signToken(rotated, GOOD))).id).toBe(JWT_ID('alice'));
    expect(jwks.fetches).toBe(2);
    // Both keys are now cached.
    await v.verify(await signToken(rotated, GOOD));
    await v.verify(await signToken(rsa, GOOD));
    expect(jwks.fetches).toBe(2);
  });

  it('refetches at most once for a burst of unknown kids within the cooldown', async () => {
    const jwks = await server([rsa.jwk]);
    const v = verifier({ jwksUri: jwks.url, jwksCooldownMs: 30_000 }, { now });
    await v.verify(await signToken(rsa, GOOD));
    jwks.keys = [rsa.jwk, rotated.jwk];
    jwks.delayMs = 50; // the refetch is still under way while the burst arrives
    const fresh = await Promise.all(Array.from({ length: 10 }, () => signToken(rotated, GOOD)));
    const unknown = await Promise.all(Array.from({ length: 10 }, (_, i) => signToken(rogue, GOOD, { kid: `unknown-${i}` })));
    const [principals, reasons] = await Promise.all([Promise.all(fresh.map((t) => v.verify(t))), Promise.all(unknown.map((t) => reasonOf(v.verify(t))))]);
    // Requests arriving during the refetch wait for it rather than fail or fetch again.
    expect(principals.map((p) => p.id)).toEqual(Array(10).fill(JWT_ID('alice')));
    expect(new Set(reasons)).toEqual(new Set(['signature']));
    expect(jwks.fetches).toBe(2);
    jwks.delayMs = 0;

    // Later unknown kids inside the cooldown: no fetch, even if the key has appeared meanwhile.
    jwks.keys = [rsa.jwk, rotated.jwk, third.jwk];
    clock += 29_000;
    expect(await reasonOf(v.verify(await signToken(third, GOOD)))).toBe('signature');
    expect(await reasonOf(v.verify(await signToken(rogue, GOOD)))).toBe('signature');
    expect(jwks.fetches).toBe(2);
    // After the cooldown the next unknown kid refetches (once).
    clock += 1_000;
    expect((await v.verify(await signToken(third, GOOD))).id).toBe(JWT_ID('alice'));
    expect(await reasonOf(v.verify(await signToken(rogue, GOOD)))).toBe('signature');
    expect(jwks.fetches).toBe(3);
  });

  it('does not refetch right after the fetch the same request made', async () => {
    const jwks = await server([rsa.jwk]);
    const v = verifier({ jwksUri: jwks.url }, { now });
    expect(await reasonOf(v.verify(await signToken(rogue, GOOD)))).toBe('signature');
    expect(jwks.fetches).toBe(1);
  });

  it('keeps the last good keys when a refetch fails', async () => {
    const jwks = await server();
    const v = verifier({ jwksUri: jwks.url, jwksCacheMaxAgeMs: 60_000 }, { now });
    await v.verify(await signToken(rsa, { ...GOOD, jti: `${++seq}` }));
    jwks.status = 500;
    clock += 61_000;
    expect((await v.verify(await signToken(rsa, { ...GOOD, jti: `${++seq}` }))).id).toBe(JWT_ID('alice'));
    expect(jwks.fetches).toBe(2);
    // The failure backs off further attempts for a while…
    await v.verify(await signToken(rsa, { ...GOOD, jti: `${++seq}` }));
    expect(jwks.fetches).toBe(2);
    // …then tries again, and recovers.
    jwks.status = 200;
    clock += 5_000;
    await v.verify(await signToken(rsa, { ...GOOD, jti: `${++seq}` }));
    expect(jwks.fetches).toBe(3);
    clock += 1_000;
    await v.verify(await signToken(rsa, { ...GOOD, jti: `${++seq}` }));
    expect(jwks.fetches).toBe(3);
  });

  it('reports unavailable keys, and backs off before trying again', async () => {
    const jwks = await server();
    jwks.status = 503;
    const v = verifier({ jwksUri: jwks.url }, { now });
    expect(await reasonOf(v.verify(await signToken(rsa, GOOD)))).toBe('unavailable');
    expect(await reasonOf(v.verify(await signToken(rsa, GOOD)))).toBe('unavailable');
    expect(jwks.fetches).toBe(1);
    jwks.status = 200;
    clock += 5_000;
    expect((await v.verify(await signToken(rsa, GOOD))).id).toBe(JWT_ID('alice'));
    expect(jwks.fetches).toBe(2);
  });

  it('gives up on a slow or oversized JWKS', async () => {
    const slow = await server();
    slow.delayMs = 500;
    expect(await reasonOf(verifier({ jwksUri: slow.url }, { jwksTimeoutMs: 50 }).verify(await signToken(rsa, GOOD)))).toBe('unavailable');
    const big = await server([
      ...Array.from({ length: Math.ceil(MAX_JWKS_BYTES / 1000) + 1 }, () => ({ kty: 'RSA', n: 'x'.repeat(1000), e: 'AQAB' })),
      rsa.jwk,
    ]);
    expect(await reasonOf(verifier({ jwksUri: big.url }).verify(await signToken(rsa, GOOD)))).toBe('unavailable');
  });

  it('ignores private and symmetric members of a fetched JWKS', async () => {
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const jwks = await server([{ ...(privateKey.export({ format: 'jwk' }) as JWK), kid: 'priv' }, { kty: 'oct', k: 'c2VjcmV0', kid: 'sym' }, rsa.jwk]);
    const v = verifier({ jwksUri: jwks.url });
    expect((await v.verify(await signToken(rsa, GOOD))).id).toBe(JWT_ID('alice'));
  });

  it('uses the given fetch', async () => {
    const urls: string[] = [];
    const fake: typeof fetch = async (input) => {
      urls.push(String(input));
      return new Response(JSON.stringify({ keys: [rsa.jwk] }), { status: 200 });
    };
    const v = verifier({ jwksUri: 'https://issuer.example.com/jwks' }, { fetch: fake });
    expect((await v.verify(await signToken(rsa, GOOD))).id).toBe(JWT_ID('alice'));
    expect(urls).toEqual(['https://issuer.example.com/jwks']);
  });
});

describe('static public keys', () => {
  const noFetch: typeof fetch = () => {
    throw new Error('must not fetch');
  };

  it('accepts JWKs and PEM keys; a PEM (kid-less) key matches any kid', async () => {
    const pemKey = await makeKey('pem-key', 'ES256');
    const pem = createPublicKey({ key: pemKey.jwk as import('node:crypto').JsonWebKey, format: 'jwk' }).export({ type: 'spki', format: 'pem' }) as string;
    const v = verifier({ publicKeys: [rsa.jwk, pem] }, { fetch: noFetch });
    expect((await v.verify(await signToken(rsa, GOOD))).id).toBe(JWT_ID('alice'));
    expect((await v.verify(await signToken(pemKey, GOOD))).id).toBe(JWT_ID('alice'));
    expect((await v.verify(await signToken(pemKey, GOOD, { kid: null }))).id).toBe(JWT_ID('alice'));
    expect(await reasonOf(v.verify(await signToken(rogue, GOOD)))).toBe('signature');
    expect(await reasonOf(v.verify(await signToken(ec, GOOD)))).toBe('signature'); // an ES256 key not configured
  });

  it('tries every kid-less key of the right type', async () => {
    const a = await makeKey('a', 'RS256');
    const b = await makeKey('b', 'RS256');
    const strip = ({ kid: _kid, ...jwk }: JWK) => jwk as JWK;
    const v = verifier({ publicKeys: [strip(a.jwk), strip(b.jwk)] }, { fetch: noFetch });
    expect((await v.verify(await signToken(b, GOOD, { kid: null }))).id).toBe(JWT_ID('alice'));
    expect((await v.verify(await signToken(a, GOOD))).id).toBe(JWT_ID('alice'));
    expect(await reasonOf(v.verify(await signToken(rogue, GOOD, { kid: null })))).toBe('signature');
  });

  it('accepts an RSA PKCS#1 PEM key', async () => {
    const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const pkcs1 = publicKey.export({ type: 'pkcs1', format: 'pem' }) as string;
    const v = verifier({ publicKeys: [pkcs1] }, { fetch: noFetch });
    const token = await new SignJWT({ ...GOOD }).setProtectedHeader({ alg: 'RS256', kid: 'x' }).setExpirationTime('5m').sign(privateKey);
    expect((await v.verify(token)).id).toBe(JWT_ID('alice'));
  });

  it('refuses private keys in the configuration', () => {
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const pem = privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
    expect(JwtSchema.safeParse({ issuer: ISSUER, publicKeys: [pem] }).success).toBe(false);
    expect(JwtSchema.safeParse({ issuer: ISSUER, publicKeys: [privateKey.export({ format: 'jwk' })] }).success).toBe(false);
    expect(JwtSchema.safeParse({ issuer: ISSUER, publicKeys: [{ kty: 'oct', k: 'c2VjcmV0' }] }).success).toBe(false);
    expect(() => createJwtVerifier({ ...settings({ publicKeys: [rsa.jwk] }), publicKeys: [pem] }, { audience: RESOURCE })).toThrow(TypeError);
  });
});

describe('claim mappings', () => {
  const v = (claims: Record<string, unknown>) => verifier({ publicKeys: [rsa.jwk], claims });

  it('reads scopes from "scope" (a string) and "scp" (an array), merged', async () => {
    const p = await v({}).verify(await signToken(rsa, { ...GOOD, scope: 'a b  c', scp: ['c', 'd'] }));
    expect(p.scopes).toEqual(['a', 'b', 'c', 'd']);
    const scpOnly = await v({}).verify(await signToken(rsa, { iss: ISSUER, aud: RESOURCE, sub: 'bob', scp: ['x', 'y'] }));
    expect(scpOnly).toMatchObject({ id: JWT_ID('bob'), scopes: ['x', 'y'], groups: [] });
  });

  it('maps custom id, scope and group claims, including nested and URL-named ones', async () => {
    const token = await signToken(rsa, {
      iss: ISSUER,
      aud: RESOURCE,
      sub: 'ignored',
      oid: 'user-42',
      permissions: ['p1', 'p2', 7],
      'https://example.com/groups': ['g1'],
      realm_access: { roles: ['admin', 'dev'] },
    });
    const p = await v({ id: 'oid', scopes: 'permissions', groups: ['https://example.com/groups', 'realm_access.roles'] }).verify(token);
    expect(p).toMatchObject({ id: JWT_ID('user-42'), subject: 'user-42', scopes: ['p1', 'p2'], groups: ['g1', 'admin', 'dev'] });
    expect(p.claims.sub).toBe('ignored');
  });

  it('treats a string group claim as one group, and a numeric id as a string', async () => {
    const p = await v({ id: 'uid', groups: 'team' }).verify(await signToken(rsa, { iss: ISSUER, aud: RESOURCE, uid: 1234, team: 'platform eng' }));
    expect(p).toMatchObject({ id: JWT_ID('1234'), subject: '1234', groups: ['platform eng'], scopes: [] });
  });

  it('rejects a token without a usable id claim', async () => {
    expect(await reasonOf(v({}).verify(await signToken(rsa, { iss: ISSUER, aud: RESOURCE })))).toBe('invalid');
    expect(await reasonOf(v({ id: 'email' }).verify(await signToken(rsa, { ...GOOD, email: { x: 1 } })))).toBe('invalid');
  });
});

describe('JwtSchema', () => {
  it('fills every default', () => {
    expect(JwtSchema.parse({ issuer: ISSUER, jwksUri: 'https://issuer.example.com/jwks' })).toEqual({
      issuer: ISSUER,
      jwksUri: 'https://issuer.example.com/jwks',
      algorithms: ['RS256', 'ES256', 'EdDSA', 'PS256'],
      clockToleranceSec: 60,
      claims: { id: 'sub', scopes: ['scope', 'scp'], groups: 'groups' },
      authorizationServers: [ISSUER],
      scopesSupported: [],
      jwksCacheMaxAgeMs: 600000,
      jwksCooldownMs: 30000,
    });
  });

  it('requires exactly one of jwksUri and publicKeys, and rejects unknown keys and symmetric algorithms', () => {
    const paths = (input: unknown) => (JwtSchema.safeParse(input).error?.issues ?? []).map((i) => i.path.join('.'));
    expect(paths({ issuer: ISSUER })).toEqual(['jwksUri']);
    expect(paths({ issuer: ISSUER, jwksUri: 'https://i/j', publicKeys: [rsa.jwk] })).toEqual(['jwksUri']);
    expect(paths({ issuer: ISSUER, jwksUri: 'https://i/j', jwks: 'x' })).toEqual(['']);
    expect(paths({ issuer: ISSUER, jwksUri: 'https://i/j', algorithms: ['HS256'] })).toEqual(['algorithms.0']);
    expect(paths({ issuer: ISSUER, jwksUri: 'https://i/j', claims: { sub: 'x' } })).toEqual(['claims']);
    expect(paths({ issuer: ISSUER, jwksUri: 'file:///etc/jwks' })).toEqual(['jwksUri']);
  });

  it('accepts auth.resource without a fragment only', () => {
    expect(AuthSchema.safeParse({ resource: RESOURCE }).success).toBe(true);
    expect(AuthSchema.safeParse({ resource: `${RESOURCE}#x` }).success).toBe(false);
  });
});

describe('createHttpAuthenticator', () => {
  const API_KEY = 'sk-test-0123456789';
  const apiKeys = [{ id: 'ci-bot', sha256: hashKey(API_KEY), scopes: ['repo.read'], groups: ['bots'] }];
  let jwt: JwtVerifier;
  beforeAll(() => {
    jwt = verifier({ publicKeys: [rsa.jwk] });
  });
  const jwtSettings = () => settings({ publicKeys: [rsa.jwk] });

  it('lets everyone in as anonymous when nothing is configured', async () => {
    const auth = createHttpAuthenticator({ apiKeys: [] });
    expect((await auth({})).id).toBe('anonymous');
    expect((await auth({ authorization: 'Bearer whatever' })).id).toBe('anonymous');
    expect((await auth({ authorization: `Bearer ${await signToken(rogue, GOOD)}` })).id).toBe('anonymous');
  });

  it('with API keys and JWTs both enabled, routes each credential and yields the same shape', async () => {
    const auth = createHttpAuthenticator({ apiKeys, jwt: jwtSettings() }, { jwt });
    const token = await signToken(rsa, GOOD);
    const fromJwt = await auth({ authorization: `Bearer ${token}` });
    const fromBearerKey = await auth({ authorization: `Bearer ${API_KEY}` });
    const fromHeaderKey = await auth({ 'x-api-key': API_KEY });
    expect(fromJwt).toMatchObject({ id: JWT_ID('alice'), kind: 'jwt', scopes: ['tools.read', 'tools.write'], groups: ['eng'] });
    expect(fromBearerKey).toMatchObject({ id: 'apikey:ci-bot', kind: 'apikey', subject: 'ci-bot', scopes: ['repo.read'], groups: ['bots'] });
    expect(fromHeaderKey).toEqual(fromBearerKey);
    expect(Object.keys(fromJwt).sort()).toEqual(Object.keys(fromBearerKey).sort());
  });

  it('never treats X-API-Key as a JWT', async () => {
    const auth = createHttpAuthenticator({ apiKeys, jwt: jwtSettings() }, { jwt });
    expect(await reasonOf(auth({ 'x-api-key': await signToken(rsa, GOOD) }))).toBe('invalid');
  });

  it('requires a credential by default and passes JWT failure reasons through', async () => {
    const auth = createHttpAuthenticator({ apiKeys: [], jwt: jwtSettings() }, { jwt });
    expect(await reasonOf(auth({}))).toBe('missing');
    expect(await reasonOf(auth({ authorization: `Bearer ${await signToken(rsa, GOOD, { exp: nowSec() - 3600 })}` }))).toBe('expired');
    expect(await reasonOf(auth({ authorization: `Bearer ${await signToken(rsa, { ...GOOD, aud: 'x' })}` }))).toBe('audience');
    expect(await reasonOf(auth({ authorization: 'Bearer not-a-jwt' }))).toBe('invalid');
    expect(await reasonOf(createHttpAuthenticator({ apiKeys }, {})({}))).toBe('missing');
  });

  it('with required: false, lets callers without a credential in but still checks presented ones', async () => {
    const auth = createHttpAuthenticator({ required: false, apiKeys: [], jwt: jwtSettings() }, { jwt });
    expect((await auth({})).id).toBe('anonymous');
    expect(await reasonOf(auth({ authorization: `Bearer ${await signToken(rogue, GOOD)}` }))).toBe('signature');
  });

  it('refuses a jwt configuration without a verifier', () => {
    expect(() => createHttpAuthenticator({ apiKeys: [], jwt: jwtSettings() })).toThrow(TypeError);
  });

  it('knows what looks like a JWT', async () => {
    expect(looksLikeJwt(await signToken(rsa, GOOD))).toBe(true);
    for (const s of [API_KEY, 'a.b', 'a.b.', 'a.b.c.d', 'a.b.c d']) expect(looksLikeJwt(s), s).toBe(false);
  });
});

describe('tokens already verified', () => {
  const noFetch: typeof fetch = () => {
    throw new Error('must not fetch');
  };
  afterEach(() => {
    vi.useRealTimers();
  });

  it('are answered without verifying again, for at most VERIFIED_TTL_MS and never past their exp', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    const v = verifier({ publicKeys: [rsa.jwk] }, { fetch: noFetch });
    const token = await signToken(rsa, GOOD, { exp: nowSec() + 3600 });
    const first = await v.verify(token);
    expect(await v.verify(token)).toBe(first);
    vi.setSystemTime(Date.now() + VERIFIED_TTL_MS + 1);
    const again = await v.verify(token);
    expect(again).not.toBe(first);
    expect(again.id).toBe(first.id);
    // A token whose exp comes first is kept only until then.
    const short = await signToken(rsa, GOOD, { exp: nowSec() + 10 });
    const once = await v.verify(short);
    vi.setSystemTime(Date.now() + 10_001);
    expect(await v.verify(short).catch(() => undefined)).not.toBe(once);
  });

  it('another token with the same claims, or a forged signature, is verified on its own', async () => {
    const v = verifier({ publicKeys: [rsa.jwk] }, { fetch: noFetch });
    const token = await signToken(rsa, GOOD, { exp: nowSec() + 3600 });
    await v.verify(token);
    const [head, body] = token.split('.');
    const forged = await signToken(rogue, GOOD, { exp: nowSec() + 3600 });
    expect(await reasonOf(v.verify(`${head}.${body}.${forged.split('.')[2]}`))).toBe('signature');
  });

  it('are not used for another audience', async () => {
    let audience = RESOURCE;
    const v = createJwtVerifier(settings({ publicKeys: [rsa.jwk] }), { audience: () => [audience], fetch: noFetch });
    const token = await signToken(rsa, GOOD, { exp: nowSec() + 3600 });
    await v.verify(token);
    audience = 'https://elsewhere.example.com/mcp';
    expect(await reasonOf(v.verify(token))).toBe('audience');
  });
});
