/**
 * The encrypted credential file: the CredentialStore contract, 0600 in a 0700
 * folder, atomic replacement, no update lost between instances sharing a
 * file, nothing readable in it, and a wrong key refused.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CredentialStoreError, deriveCipher, type KdfParams } from '../../../../src/credentials/store/crypto.js';
import { FileCredentialStore } from '../../../../src/credentials/store/file.js';
import { CachedCredentialStore } from '../../../../src/credentials/store/cached.js';
import { createCredentialStore } from '../../../../src/credentials/index.js';
import type { UserCredential } from '../../../../src/credentials/store.js';
import { silentLogger } from '../../../../src/observability/log.js';

const KEY = 'a-long-random-secret-for-tests';
let base: string;
let seq = 0;

beforeAll(() => {
  base = mkdtempSync(path.join(tmpdir(), 'switchboard-credfile-'));
});
afterAll(() => {
  rmSync(base, { recursive: true, force: true });
});

/** A path in a folder that does not exist yet. */
const freshFile = () => path.join(base, `state-${seq++}`, 'credentials.json');

const cred = (principal: string, server: string, extra: Partial<UserCredential> = {}): UserCredential => ({
  principal,
  server,
  accessToken: `AT-${principal}-${server}-${seq}-very-secret`,
  refreshToken: `RT-${principal}-${server}-${seq}-very-secret`,
  tokenType: 'Bearer',
  scope: 'repo read:user',
  obtainedAt: 1_700_000_000_000,
  expiresAt: 1_700_003_600_000,
  subject: `${principal}-sub`,
  tokenEndpoint: 'https://auth.example.com/token',
  clientId: 'switchboard',
  clientSecret: 'CLIENT-SECRET-value',
  resource: 'https://mcp.example.com/',
  ...extra,
});

describe('FileCredentialStore', () => {
  it('puts, gets, lists, deletes', async () => {
    const store = new FileCredentialStore(freshFile(), KEY);
    expect(await store.get('alice', 'github')).toBeUndefined();
    expect(await store.list()).toEqual([]);
    expect(await store.delete('alice', 'github')).toBe(false);

    const a = cred('alice', 'github');
    const b = cred('bob', 'github', { refreshToken: undefined, expiresAt: undefined, subject: undefined });
    const c = cred('alice', 'jira');
    delete b.refreshToken;
    delete b.expiresAt;
    delete b.subject;
    await store.put(a);
    await store.put(b);
    await store.put(c);
    expect(await store.get('alice', 'github')).toEqual(a);
    expect(await store.get('bob', 'github')).toEqual(b);
    expect(await store.get('bob', 'jira')).toBeUndefined();

    expect(await store.list()).toEqual([
      { principal: 'alice', server: 'github', subject: 'alice-sub', obtainedAt: a.obtainedAt, expiresAt: a.expiresAt, refreshable: true },
      { principal: 'alice', server: 'jira', subject: 'alice-sub', obtainedAt: c.obtainedAt, expiresAt: c.expiresAt, refreshable: true },
      { principal: 'bob', server: 'github', subject: undefined, obtainedAt: b.obtainedAt, expiresAt: undefined, refreshable: false },
    ]);
    expect((await store.list('alice')).map((s) => s.server)).toEqual(['github', 'jira']);
    expect(await store.list('carol')).toEqual([]);
    // Summaries never carry tokens.
    expect(JSON.stringify(await store.list())).not.toMatch(/AT-|RT-|CLIENT-SECRET/);

    // Replacing keeps one record.
    const renewed = { ...a, accessToken: 'AT-renewed', obtainedAt: a.obtainedAt + 1 };
    await store.put(renewed);
    expect(await store.get('alice', 'github')).toEqual(renewed);
    expect(await store.list()).toHaveLength(3);

    expect(await store.delete('alice', 'github')).toBe(true);
    expect(await store.delete('alice', 'github')).toBe(false);
    expect(await store.get('alice', 'github')).toBeUndefined();
    expect(await store.get('alice', 'jira')).toEqual(c);
    await store.close();
  });

  it('writes a 0600 file in a 0700 folder, atomically, leaving no temporary or lock file', async () => {
    const file = freshFile();
    const store = new FileCredentialStore(file, KEY);
    await store.put(cred('alice', 'github'));
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(statSync(path.dirname(file)).mode & 0o777).toBe(0o700);
    const inodeBefore = statSync(file).ino;
    await store.put(cred('bob', 'github'));
    // Replaced by a rename (a new file), not rewritten in place.
    expect(statSync(file).ino).not.toBe(inodeBefore);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(readdirSync(path.dirname(file))).toEqual(['credentials.json']);
  });

  it('a reader polling during writes always sees a whole, valid file', async () => {
    const file = freshFile();
    const writer = new FileCredentialStore(file, KEY);
    await writer.put(cred('seed', 'github'));
    let stop = false;
    const seen: number[] = [];
    const reader = (async () => {
      while (!stop) {
        const json = JSON.parse(readFileSync(file, 'utf8')) as { records: Record<string, string> };
        seen.push(Object.keys(json.records).length);
        await new Promise((r) => setImmediate(r));
      }
    })();
    for (let i = 0; i < 40; i++) await writer.put(cred(`user${i}`, 'github'));
    stop = true;
    await reader;
    expect(seen.length).toBeGreaterThan(0);
    // Monotonic: never a half-written or older file.
    expect([...seen].sort((a, b) => a - b)).toEqual(seen);
    expect(Object.keys((JSON.parse(readFileSync(file, 'utf8')) as { records: object }).records)).toHaveLength(41);
  });

  it('keeps no token, refresh token, client secret, principal or server name in the file', async () => {
    const file = freshFile();
    const store = new FileCredentialStore(file, KEY);
    const creds = [cred('alice@example.com', 'github'), cred('bob@example.com', 'jira-server')];
    for (const c of creds) await store.put(c);
    const raw = readFileSync(file, 'utf8');
    for (const c of creds) {
      for (const secret of [c.accessToken, c.refreshToken!, c.clientSecret!, c.principal, c.server, c.subject!, c.scope!, c.tokenEndpoint!]) {
        expect(raw).not.toContain(secret);
        // Nor base64 of it (a record is ciphertext, not an encoding).
        expect(raw).not.toContain(Buffer.from(secret).toString('base64').slice(0, 12));
      }
    }
    expect(raw).not.toContain('very-secret');
    const json = JSON.parse(raw) as { format: string; version: number; kdf: { name: string; salt: string }; check: string; records: Record<string, string> };
    expect(json).toMatchObject({ format: 'switchboard-credentials', version: 1, kdf: { name: 'scrypt' } });
    expect(Object.keys(json.records)).toHaveLength(2);
    for (const id of Object.keys(json.records)) expect(id).toMatch(/^[0-9a-f]{64}$/);
  });

  it('a new instance (a restart) reads what the old one wrote', async () => {
    const file = freshFile();
    const first = new FileCredentialStore(file, KEY);
    const c = cred('alice', 'github');
    await first.put(c);
    await first.close();
    const second = new FileCredentialStore(file, KEY);
    expect(await second.get('alice', 'github')).toEqual(c);
    expect(await second.list()).toHaveLength(1);
  });

  it('two instances on one file: concurrent puts and deletes lose nothing', async () => {
    const file = freshFile();
    const a = new FileCredentialStore(file, KEY);
    const b = new FileCredentialStore(file, KEY);
    const ops: Promise<unknown>[] = [];
    for (let i = 0; i < 25; i++) {
      ops.push(a.put(cred(`a${i}`, 'github')));
      ops.push(b.put(cred(`b${i}`, 'github')));
    }
    await Promise.all(ops);
    expect(await a.list()).toHaveLength(50);
    expect(await b.list()).toHaveLength(50);
    await Promise.all([a.delete('b3', 'github'), b.delete('a7', 'github'), a.put(cred('late', 'jira')), b.put(cred('later', 'jira'))]);
    const names = (await a.list()).map((s) => s.principal);
    expect(names).toHaveLength(50);
    expect(names).not.toContain('b3');
    expect(names).not.toContain('a7');
    expect(names).toEqual(expect.arrayContaining(['late', 'later', 'a0', 'b24']));
  });

  it('two instances on one file keep their own write queues: closing one does not wait for the other', async () => {
    const file = freshFile();
    await new FileCredentialStore(file, KEY).put(cred('alice', 'github'));
    // A live holder (this worker's parent) keeps the lock, so b's write waits for it.
    writeFileSync(`${file}.lock`, JSON.stringify({ pid: process.ppid, host: hostname(), nonce: 'q' }));
    const a = new FileCredentialStore(file, KEY);
    const b = new FileCredentialStore(file, KEY, { lockTimeoutMs: 10_000 });
    const waiting = b.put(cred('bob', 'github'));
    const closing = await Promise.race([a.close().then(() => 'closed'), new Promise((resolve) => setTimeout(() => resolve('waiting for b'), 1_000))]);
    expect(closing).toBe('closed');
    rmSync(`${file}.lock`);
    await waiting;
    await b.close();
    expect((await a.list()).map((s) => s.principal)).toEqual(['alice', 'bob']);
  });

  it('sees writes made by another instance (another process) after its own read', async () => {
    const file = freshFile();
    const gateway = new FileCredentialStore(file, KEY);
    const cli = new FileCredentialStore(file, KEY);
    await gateway.put(cred('alice', 'github'));
    expect(await cli.get('alice', 'github')).toBeDefined();
    expect(await gateway.list()).toHaveLength(1);
    // The CLI revokes; the gateway's cached copy must not survive it.
    expect(await cli.delete('alice', 'github')).toBe(true);
    expect(await gateway.get('alice', 'github')).toBeUndefined();
    await cli.put(cred('bob', 'github', { accessToken: 'AT-one' }));
    expect((await gateway.get('bob', 'github'))?.accessToken).toBe('AT-one');
    await cli.put(cred('bob', 'github', { accessToken: 'AT-two' }));
    expect((await gateway.get('bob', 'github'))?.accessToken).toBe('AT-two');
  });

  it('refuses a wrong key clearly, for reads and writes, and leaves the file alone', async () => {
    const file = freshFile();
    await new FileCredentialStore(file, KEY).put(cred('alice', 'github'));
    const before = readFileSync(file, 'utf8');
    const wrong = new FileCredentialStore(file, 'not-the-key-that-wrote-it');
    const message = 'cannot decrypt the credential store: wrong gateway.credentials.key?';
    await expect(wrong.get('alice', 'github')).rejects.toThrow(message);
    await expect(wrong.get('nobody', 'github')).rejects.toThrow(message);
    await expect(wrong.list()).rejects.toThrow(message);
    await expect(wrong.put(cred('bob', 'github'))).rejects.toThrow(message);
    await expect(wrong.delete('alice', 'github')).rejects.toMatchObject({ reason: 'wrong-key' });
    expect(readFileSync(file, 'utf8')).toBe(before);
    expect(existsSync(`${file}.lock`)).toBe(false);
  });

  it('refuses a tampered or swapped record, and a file that is not a store', async () => {
    const file = freshFile();
    const store = new FileCredentialStore(file, KEY);
    await store.put(cred('alice', 'github'));
    await store.put(cred('mallory', 'github'));
    const json = JSON.parse(readFileSync(file, 'utf8')) as { kdf: KdfParams; records: Record<string, string> };
    const cipher = await deriveCipher(KEY, json.kdf);
    const aliceId = cipher.recordId('alice', 'github');
    const malloryId = cipher.recordId('mallory', 'github');
    expect(Object.keys(json.records).sort()).toEqual([aliceId, malloryId].sort());
    // Mallory's record placed in alice's slot.
    writeFileSync(file, JSON.stringify({ ...json, records: { [aliceId]: json.records[malloryId]!, [malloryId]: json.records[malloryId]! } }));
    const fresh = new FileCredentialStore(file, KEY);
    await expect(fresh.get('alice', 'github')).rejects.toThrow(/damaged or was tampered with/);
    expect((await fresh.get('mallory', 'github'))?.principal).toBe('mallory');
    // One flipped byte.
    const bytes = Buffer.from(json.records[aliceId]!, 'base64');
    bytes[bytes.length - 1] = bytes[bytes.length - 1]! ^ 0x40;
    writeFileSync(file, JSON.stringify({ ...json, records: { [aliceId]: bytes.toString('base64') } }));
    const err = await fresh.get('alice', 'github').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CredentialStoreError);
    expect((err as CredentialStoreError).reason).toBe('corrupt');
    await expect(fresh.list()).rejects.toThrow(CredentialStoreError);
    // Not a store at all: refused, never overwritten.
    writeFileSync(file, '{"hello": "world"}');
    await expect(fresh.put(cred('alice', 'github'))).rejects.toThrow(/does not hold a Switchboard credential store/);
    expect(readFileSync(file, 'utf8')).toBe('{"hello": "world"}');
    writeFileSync(file, 'not json');
    await expect(fresh.list()).rejects.toThrow(/not valid JSON/);
  });

  it('waits for, then breaks, a lock left by a process that is gone', async () => {
    const file = freshFile();
    const store = new FileCredentialStore(file, KEY);
    await store.put(cred('alice', 'github'));
    // A dead process on this host held it: broken at once.
    writeFileSync(`${file}.lock`, JSON.stringify({ pid: 2 ** 22 + 12345, host: hostname(), nonce: 'x' }));
    await store.put(cred('bob', 'github'));
    expect(existsSync(`${file}.lock`)).toBe(false);
    // A live holder: the write waits, then fails clearly.
    writeFileSync(`${file}.lock`, JSON.stringify({ pid: process.ppid, host: hostname(), nonce: 'y' }));
    const impatient = new FileCredentialStore(file, KEY, { lockTimeoutMs: 200 });
    await expect(impatient.put(cred('carol', 'github'))).rejects.toMatchObject({ reason: 'locked' });
    // Reads do not need the lock.
    expect(await impatient.list()).toHaveLength(2);
    rmSync(`${file}.lock`);
    await impatient.put(cred('carol', 'github'));
    expect(await store.list()).toHaveLength(3);
  });

  it('createCredentialStore builds a (cached) file store from settings', async () => {
    const file = freshFile();
    const store = createCredentialStore({ key: KEY, store: { type: 'file', path: file } }, silentLogger);
    expect(store).toBeInstanceOf(CachedCredentialStore);
    await store.put(cred('alice', 'github'));
    expect(await new FileCredentialStore(file, KEY).get('alice', 'github')).toBeDefined();
    await store.close();
  });
});
