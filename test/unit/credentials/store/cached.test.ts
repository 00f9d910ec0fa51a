/**
 * The in-process cache in front of a credential store: one read of the
 * backing store serves the reads of one call (and concurrent ones), what this
 * process writes or deletes is seen at once, and what another process writes
 * is seen once the short TTL has passed.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CachedCredentialStore } from '../../../../src/credentials/store/cached.js';
import { FileCredentialStore } from '../../../../src/credentials/store/file.js';
import type { UserCredential } from '../../../../src/credentials/store.js';

const KEY = 'a-long-random-secret-for-tests';
let base: string;
let seq = 0;

beforeAll(() => {
  base = mkdtempSync(path.join(tmpdir(), 'switchboard-credcache-'));
});
afterAll(() => {
  rmSync(base, { recursive: true, force: true });
});

const cred = (principal: string, server: string, accessToken: string): UserCredential => ({
  principal,
  server,
  accessToken,
  tokenType: 'Bearer',
  obtainedAt: Date.now(),
});

/** A real encrypted file store that counts the reads reaching it. */
function countingFileStore(file: string): { store: FileCredentialStore; reads: () => number } {
  const store = new FileCredentialStore(file, KEY);
  let reads = 0;
  const get = store.get.bind(store);
  store.get = (principal, server) => {
    reads++;
    return get(principal, server);
  };
  return { store, reads: () => reads };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('CachedCredentialStore', () => {
  it('serves repeated and concurrent reads of one credential with one read of the store', async () => {
    const file = path.join(base, `c-${seq++}`, 'credentials.json');
    const backing = countingFileStore(file);
    const cached = new CachedCredentialStore(backing.store, 60_000);
    await cached.put(cred('alice', 'linear', 'AT-1'));
    const before = backing.reads();
    const [a, b] = await Promise.all([cached.get('alice', 'linear'), cached.get('alice', 'linear')]);
    expect(a?.accessToken).toBe('AT-1');
    expect(b?.accessToken).toBe('AT-1');
    expect((await cached.get('alice', 'linear'))?.accessToken).toBe('AT-1');
    expect(backing.reads() - before).toBe(0);

    // A fresh cache reads the file once for any number of reads of one key.
    const other = countingFileStore(file);
    const second = new CachedCredentialStore(other.store, 60_000);
    await Promise.all([second.get('alice', 'linear'), second.get('alice', 'linear'), second.get('alice', 'linear')]);
    await second.get('alice', 'linear');
    expect(other.reads()).toBe(1);
  });

  it('sees its own writes and deletes at once, and never caches an absent credential', async () => {
    const file = path.join(base, `c-${seq++}`, 'credentials.json');
    const backing = countingFileStore(file);
    const cached = new CachedCredentialStore(backing.store, 60_000);
    expect(await cached.get('bob', 'github')).toBeUndefined();
    // Signed in through another process: counted at once, since absence was not cached.
    await new FileCredentialStore(file, KEY).put(cred('bob', 'github', 'AT-elsewhere'));
    expect((await cached.get('bob', 'github'))?.accessToken).toBe('AT-elsewhere');
    await cached.put(cred('bob', 'github', 'AT-2'));
    expect((await cached.get('bob', 'github'))?.accessToken).toBe('AT-2');
    expect(await cached.delete('bob', 'github')).toBe(true);
    expect(await cached.get('bob', 'github')).toBeUndefined();
    expect(await new FileCredentialStore(file, KEY).get('bob', 'github')).toBeUndefined();
  });

  it("sees another process's change once the TTL has passed", async () => {
    const file = path.join(base, `c-${seq++}`, 'credentials.json');
    const cached = new CachedCredentialStore(new FileCredentialStore(file, KEY), 100);
    // The other process has been running: it derived the file's key (scrypt, once per store) before the TTL starts.
    const other = new FileCredentialStore(file, KEY);
    await other.put(cred('carol', 'jira', 'AT-older'));
    await cached.put(cred('carol', 'jira', 'AT-old'));
    await other.put(cred('carol', 'jira', 'AT-new'));
    expect((await cached.get('carol', 'jira'))?.accessToken).toBe('AT-old');
    await sleep(150);
    expect((await cached.get('carol', 'jira'))?.accessToken).toBe('AT-new');
  });

  it('lets a write made during a read win over what the read returns', async () => {
    const file = path.join(base, `c-${seq++}`, 'credentials.json');
    const cached = new CachedCredentialStore(new FileCredentialStore(file, KEY), 60_000);
    await new FileCredentialStore(file, KEY).put(cred('dan', 'notion', 'AT-stale'));
    const read = cached.get('dan', 'notion');
    await cached.put(cred('dan', 'notion', 'AT-fresh'));
    await read;
    expect((await cached.get('dan', 'notion'))?.accessToken).toBe('AT-fresh');
  });
});
