/**
 * The Redis credential store against a real redis-server: the same contract
 * and encryption as the file store, nothing readable in what `redis-cli`
 * would show, replicas seeing each other's writes, and an unreachable server
 * reported within a couple of seconds instead of hanging.
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CredentialStoreError } from '../../../../src/credentials/store/crypto.js';
import { CachedCredentialStore } from '../../../../src/credentials/store/cached.js';
import { createCredentialStore } from '../../../../src/credentials/index.js';
import { RedisCredentialStore, type RedisCredentialStoreSettings } from '../../../../src/credentials/store/redis.js';
import type { UserCredential } from '../../../../src/credentials/store.js';
import { createLogger, silentLogger } from '../../../../src/observability/log.js';
import { freePort } from '../../../helpers/processes.js';
import { startRedis, type RunningRedis } from '../../../helpers/redis.js';

const KEY = 'a-long-random-secret-for-tests';
let redis: RunningRedis;
let raw: Redis;
const stores: RedisCredentialStore[] = [];
let seq = 0;

beforeAll(async () => {
  redis = await startRedis();
  raw = rawClient();
});
afterAll(async () => {
  await Promise.allSettled(stores.map((s) => s.close()));
  raw?.disconnect();
  await redis?.stop();
});

/** A plain client, to read what redis-cli would show. */
function rawClient(): Redis {
  const client = new Redis(redis.url, { maxRetriesPerRequest: 1 });
  client.on('error', () => {});
  return client;
}

function store(overrides: Partial<RedisCredentialStoreSettings> = {}, log = silentLogger): RedisCredentialStore {
  const s = new RedisCredentialStore({ url: redis.url, prefix: `t${seq++}:cred:`, key: KEY, ...overrides }, log);
  stores.push(s);
  return s;
}

const cred = (principal: string, server: string, extra: Partial<UserCredential> = {}): UserCredential => ({
  principal,
  server,
  accessToken: `AT-${principal}-${server}-very-secret`,
  refreshToken: `RT-${principal}-${server}-very-secret`,
  tokenType: 'Bearer',
  obtainedAt: 1_700_000_000_000,
  expiresAt: 1_700_003_600_000,
  subject: `${principal}-sub`,
  clientSecret: 'CLIENT-SECRET-value',
  ...extra,
});

/** Every key under `prefix` and its value, as redis-cli would show them. */
async function dump(prefix: string): Promise<Map<string, string>> {
  const keys = await raw.keys(`${prefix}*`);
  const out = new Map<string, string>();
  for (const key of keys) out.set(key, (await raw.get(key)) ?? '');
  return out;
}

describe('RedisCredentialStore', () => {
  it('puts, gets, lists, deletes', async () => {
    const s = store();
    expect(await s.get('alice', 'github')).toBeUndefined();
    expect(await s.list()).toEqual([]);
    expect(await s.delete('alice', 'github')).toBe(false);
    const a = cred('alice', 'github');
    const b = cred('bob', 'github');
    delete b.refreshToken;
    const c = cred('alice', 'jira');
    await s.put(a);
    await s.put(b);
    await s.put(c);
    expect(await s.get('alice', 'github')).toEqual(a);
    expect(await s.get('bob', 'github')).toEqual(b);
    expect(await s.get('bob', 'jira')).toBeUndefined();
    expect(await s.list()).toEqual([
      { principal: 'alice', server: 'github', subject: 'alice-sub', obtainedAt: a.obtainedAt, expiresAt: a.expiresAt, refreshable: true },
      { principal: 'alice', server: 'jira', subject: 'alice-sub', obtainedAt: c.obtainedAt, expiresAt: c.expiresAt, refreshable: true },
      { principal: 'bob', server: 'github', subject: 'bob-sub', obtainedAt: b.obtainedAt, expiresAt: b.expiresAt, refreshable: false },
    ]);
    expect((await s.list('bob')).map((x) => x.server)).toEqual(['github']);
    const renewed = { ...a, accessToken: 'AT-renewed' };
    await s.put(renewed);
    expect(await s.get('alice', 'github')).toEqual(renewed);
    expect(await s.list()).toHaveLength(3);
    expect(await s.delete('alice', 'github')).toBe(true);
    expect(await s.delete('alice', 'github')).toBe(false);
    expect(await s.get('alice', 'github')).toBeUndefined();
    expect(await s.list()).toHaveLength(2);
  });

  it('keeps one key per record under the prefix, with nothing readable in any value', async () => {
    const prefix = `plain${seq++}:`;
    const s = store({ prefix });
    const creds = [cred('alice@example.com', 'github'), cred('bob@example.com', 'jira-server')];
    for (const c of creds) await s.put(c);
    const values = await dump(prefix);
    expect([...values.keys()].sort()).toEqual([`${prefix}meta`, ...[...values.keys()].filter((k) => k.startsWith(`${prefix}r:`))].sort());
    expect([...values.keys()].filter((k) => /^plain\d+:r:[0-9a-f]{64}$/.test(k))).toHaveLength(2);
    const everything = [...values.entries()].flat().join('\n');
    for (const c of creds) {
      for (const secret of [c.accessToken, c.refreshToken!, c.clientSecret!, c.principal, c.server, c.subject!]) {
        expect(everything).not.toContain(secret);
        expect(everything).not.toContain(Buffer.from(secret).toString('base64').slice(0, 12));
      }
    }
    expect(everything).not.toContain('very-secret');
  });

  it('replicas on one prefix share records, and concurrent puts lose nothing', async () => {
    const prefix = `shared${seq++}:`;
    const a = store({ prefix });
    const b = store({ prefix });
    // Both create the store at once: one salt wins, both use it.
    await Promise.all([a.put(cred('first-a', 'github')), b.put(cred('first-b', 'github'))]);
    const ops: Promise<unknown>[] = [];
    for (let i = 0; i < 25; i++) ops.push(a.put(cred(`a${i}`, 'github')), b.put(cred(`b${i}`, 'github')));
    await Promise.all(ops);
    expect(await a.list()).toHaveLength(52);
    expect(await b.list()).toHaveLength(52);
    expect((await b.get('a3', 'github'))?.accessToken).toBe('AT-a3-github-very-secret');
    expect(await a.delete('b3', 'github')).toBe(true);
    expect(await b.get('b3', 'github')).toBeUndefined();
    // A restart: a new instance reads what the old ones wrote.
    await a.close();
    const again = store({ prefix });
    expect(await again.list()).toHaveLength(51);
  });

  it('lists many records through SCAN, and a prefix with glob characters matches only itself', async () => {
    const prefix = `glob[${seq++}]*:`;
    const s = store({ prefix });
    const other = store({ prefix: `glob${seq++}x:` });
    await Promise.all(Array.from({ length: 1200 }, (_, i) => s.put(cred(`user${i}`, 'github'))));
    await other.put(cred('elsewhere', 'github'));
    const all = await s.list();
    expect(all).toHaveLength(1200);
    expect(new Set(all.map((x) => x.principal)).size).toBe(1200);
    expect(await s.list('user42')).toHaveLength(1);
    expect(await other.list()).toHaveLength(1);
  });

  it('refuses a wrong key clearly, and a record moved into another slot', async () => {
    const prefix = `wrong${seq++}:`;
    const s = store({ prefix });
    await s.put(cred('alice', 'github'));
    await s.put(cred('mallory', 'github'));
    const wrong = store({ prefix, key: 'not-the-key-that-wrote-it' });
    const message = 'cannot decrypt the credential store: wrong gateway.credentials.key?';
    await expect(wrong.get('alice', 'github')).rejects.toThrow(message);
    await expect(wrong.list()).rejects.toThrow(message);
    await expect(wrong.put(cred('bob', 'github'))).rejects.toThrow(message);
    await expect(wrong.delete('alice', 'github')).rejects.toMatchObject({ reason: 'wrong-key' });
    expect(await s.list()).toHaveLength(2);

    const keys = (await raw.keys(`${prefix}r:*`)).sort();
    const values = await Promise.all(keys.map((k) => raw.get(k)));
    // Swap the two records.
    await raw.set(keys[0]!, values[1]!);
    await raw.set(keys[1]!, values[0]!);
    await expect(s.get('alice', 'github')).rejects.toThrow(/damaged or was tampered with/);
    await expect(s.get('mallory', 'github')).rejects.toThrow(CredentialStoreError);
    await expect(s.list()).rejects.toMatchObject({ reason: 'corrupt' });
  });

  it('an unreachable server is a clear error within a couple of seconds, then recovers', async () => {
    const port = await freePort();
    const lines: string[] = [];
    const s = store({ url: `redis://:hunter2@127.0.0.1:${port}` }, createLogger({ level: 'debug', write: (l) => lines.push(l) }));
    const started = Date.now();
    const err = await s.get('alice', 'github').catch((e: unknown) => e);
    expect(Date.now() - started).toBeLessThan(3_000);
    expect(err).toBeInstanceOf(CredentialStoreError);
    expect((err as CredentialStoreError).reason).toBe('unavailable');
    expect((err as Error).message).toContain(`redis://127.0.0.1:${port}`);
    expect((err as Error).message).not.toContain('hunter2');
    await expect(s.put(cred('alice', 'github'))).rejects.toThrow(/unreachable/);
    expect(lines.join('')).not.toContain('hunter2');
    expect(lines.filter((l) => l.includes('credential store unreachable'))).toHaveLength(1);

    // The shared server goes away and comes back: errors meanwhile, then it works again.
    const live = store();
    await live.put(cred('alice', 'github'));
    await redis.kill();
    const t0 = Date.now();
    await expect(live.get('alice', 'github')).rejects.toMatchObject({ reason: 'unavailable' });
    expect(Date.now() - t0).toBeLessThan(3_000);
    await redis.restart();
    raw.disconnect();
    raw = rawClient();
    // Empty after the restart (no persistence), and usable.
    let listed: unknown;
    for (let i = 0; i < 50; i++) {
      listed = await live.list().catch(() => undefined);
      if (listed) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(listed).toEqual([]);
    await live.put(cred('bob', 'github'));
    expect((await live.get('bob', 'github'))?.principal).toBe('bob');
  });

  it('createCredentialStore builds a (cached) Redis store from settings', async () => {
    const prefix = `factory${seq++}:`;
    const s = createCredentialStore({ key: KEY, store: { type: 'redis', url: redis.url, prefix } }, silentLogger);
    expect(s).toBeInstanceOf(CachedCredentialStore);
    await s.put(cred('alice', 'github'));
    expect(await store({ prefix }).get('alice', 'github')).toBeDefined();
    await s.close();
    await expect(s.get('alice', 'github')).rejects.toThrow(/closed/);
  });
});
