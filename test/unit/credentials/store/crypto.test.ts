/**
 * Encryption at rest: AES-256-GCM under a scrypt-derived key, records bound
 * to their (principal, server) slot, a wrong key told apart from damage, and
 * no token in any error.
 */
import { describe, expect, it } from 'vitest';
import { CipherCache, CredentialStoreError, deriveCipher, newKdfParams, SealError, WRONG_KEY_MESSAGE } from '../../../../src/credentials/store/crypto.js';
import type { UserCredential } from '../../../../src/credentials/store.js';

const KEY = 'correct horse battery staple';
const cred = (principal: string, server: string, token = `at-${principal}-${server}-secret`): UserCredential => ({
  principal,
  server,
  accessToken: token,
  refreshToken: `rt-${principal}-${server}-secret`,
  tokenType: 'Bearer',
  obtainedAt: 1_700_000_000_000,
  expiresAt: 1_700_000_360_000,
  subject: `${principal}@upstream`,
});

function errorOf(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  throw new Error('expected a throw');
}

describe('credential encryption', () => {
  it('round-trips a record, with a fresh IV every time', async () => {
    const cipher = await deriveCipher(KEY, newKdfParams());
    const c = cred('alice', 'github');
    const a = cipher.sealCredential(c);
    const b = cipher.sealCredential(c);
    expect(a.id).toBe(b.id);
    expect(a.id).toMatch(/^[0-9a-f]{64}$/);
    expect(a.value).not.toBe(b.value);
    expect(Buffer.from(a.value, 'base64').subarray(0, 12)).not.toEqual(Buffer.from(b.value, 'base64').subarray(0, 12));
    expect(cipher.openCredential(a.id, a.value, 'test')).toEqual(c);
    expect(cipher.openCredential(b.id, b.value, 'test')).toEqual(c);
    // Nothing readable in the sealed form.
    for (const s of [c.accessToken, c.refreshToken!, 'alice', 'github']) expect(Buffer.from(a.value, 'base64').toString('latin1')).not.toContain(s);
  });

  it('derives the same key from the same secret and salt, and another from another salt', async () => {
    const kdf = newKdfParams();
    const one = await deriveCipher(KEY, kdf);
    const same = await deriveCipher(KEY, { ...kdf });
    const { id, value } = one.sealCredential(cred('alice', 'github'));
    expect(same.openCredential(id, value, 'test').accessToken).toBe('at-alice-github-secret');
    const other = await deriveCipher(KEY, newKdfParams());
    expect(other.recordId('alice', 'github')).not.toBe(id);
  });

  it('a cipher cache derives once per (secret, salt); two caches (two gateways) share nothing', async () => {
    const kdf = newKdfParams();
    const mine = new CipherCache();
    const theirs = new CipherCache();
    const first = mine.derive(KEY, kdf);
    expect(mine.derive(KEY, { ...kdf })).toBe(first);
    expect(mine.derive('another secret of some length', kdf)).not.toBe(first);
    const other = theirs.derive(KEY, kdf);
    expect(other).not.toBe(first);
    // Derived apart, the keys are still the same: what one seals, the other opens.
    const { id, value } = (await first).sealCredential(cred('alice', 'github'));
    expect((await other).openCredential(id, value, 'test').accessToken).toBe('at-alice-github-secret');
  });

  it('a wrong key fails the check with a clear error, never garbage', async () => {
    const kdf = newKdfParams();
    const right = await deriveCipher(KEY, kdf);
    const wrong = await deriveCipher('another secret of some length', kdf);
    const check = right.makeCheck();
    expect(() => right.verifyCheck(check, 'test')).not.toThrow();
    const err = errorOf(() => wrong.verifyCheck(check, 'the file'));
    expect(err).toBeInstanceOf(CredentialStoreError);
    expect((err as CredentialStoreError).reason).toBe('wrong-key');
    expect((err as Error).message).toContain(WRONG_KEY_MESSAGE);
    expect((err as Error).message).toContain('cannot decrypt the credential store: wrong gateway.credentials.key?');
    // A record opened with the wrong key fails authentication too.
    const { id, value } = right.sealCredential(cred('alice', 'github'));
    expect(() => wrong.openCredential(id, value, 'test')).toThrow(CredentialStoreError);
    expect(() => wrong.open(value, 'x')).toThrow(SealError);
  });

  it('rejects tampered ciphertext, IV and tag, without the token in the error', async () => {
    const cipher = await deriveCipher(KEY, newKdfParams());
    const c = cred('alice', 'github');
    const { id, value } = cipher.sealCredential(c);
    const raw = Buffer.from(value, 'base64');
    for (const at of [0, 12, 28, raw.length - 1]) {
      const bad = Buffer.from(raw);
      bad[at] = bad[at]! ^ 0x01;
      const err = errorOf(() => cipher.openCredential(id, bad.toString('base64'), 'test'));
      expect(err).toBeInstanceOf(CredentialStoreError);
      expect((err as CredentialStoreError).reason).toBe('corrupt');
      expect((err as Error).message).not.toContain(c.accessToken);
      expect((err as Error).message).not.toContain(c.refreshToken);
    }
    expect(() => cipher.openCredential(id, raw.subarray(0, 20).toString('base64'), 'test')).toThrow(/damaged or was tampered with/);
    expect(() => cipher.openCredential(id, '', 'test')).toThrow(CredentialStoreError);
  });

  it("rejects a record moved into another user's (or server's) slot", async () => {
    const cipher = await deriveCipher(KEY, newKdfParams());
    const alice = cipher.sealCredential(cred('alice', 'github'));
    const bob = cipher.sealCredential(cred('bob', 'github'));
    const aliceJira = cipher.sealCredential(cred('alice', 'jira'));
    expect(() => cipher.openCredential(bob.id, alice.value, 'test')).toThrow(/tampered/);
    expect(() => cipher.openCredential(alice.id, aliceJira.value, 'test')).toThrow(/tampered/);
    expect(cipher.openCredential(bob.id, bob.value, 'test').principal).toBe('bob');
  });

  it('pads records, so sizes do not give token lengths away', async () => {
    const cipher = await deriveCipher(KEY, newKdfParams());
    const minimal = (accessToken: string): UserCredential => ({ principal: 'alice', server: 'github', accessToken, tokenType: 'Bearer', obtainedAt: 1 });
    const short = cipher.sealCredential(minimal('a'));
    const longer = cipher.sealCredential(minimal('a'.repeat(60)));
    expect(Buffer.from(short.value, 'base64').length).toBe(Buffer.from(longer.value, 'base64').length);
    expect((Buffer.from(short.value, 'base64').length - 28) % 256).toBe(0);
    expect(cipher.openCredential(longer.id, longer.value, 'test').accessToken).toBe('a'.repeat(60));
  });

  it('lookup ids cannot be confused by separators in the names', async () => {
    const cipher = await deriveCipher(KEY, newKdfParams());
    expect(cipher.recordId('a|b', 'c')).not.toBe(cipher.recordId('a', 'b|c'));
    expect(cipher.recordId('a","b', 'c')).not.toBe(cipher.recordId('a', 'b","c'));
  });
});
