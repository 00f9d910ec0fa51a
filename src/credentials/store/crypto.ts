/**
 * Encryption at rest for users' upstream credentials (node:crypto only).
 *
 * - One master key per store: scrypt(gateway.credentials.key, random salt),
 *   the salt and the scrypt parameters kept beside the records. HKDF-SHA256
 *   splits it into an AES-256-GCM key and an HMAC-SHA256 key.
 * - A record's lookup id is HMAC(principal, server): the store reveals how
 *   many credentials it holds and nothing else.
 * - A whole record is sealed with AES-256-GCM under a fresh 12-byte IV, with
 *   its lookup id as additional authenticated data, so a record moved to
 *   another (principal, server) slot fails authentication instead of letting
 *   one user act with another's tokens. Records are padded to a multiple of
 *   256 characters first, so their sizes say little about the tokens.
 * - A "check" value sealed with the same key tells a wrong key ("cannot
 *   decrypt the credential store: wrong gateway.credentials.key?") apart from
 *   a damaged record, even when the store is empty.
 *
 * No message produced here ever contains a token or any decrypted text.
 */
import { createCipheriv, createDecipheriv, createHash, createHmac, hkdfSync, randomBytes, scrypt, timingSafeEqual } from 'node:crypto';
import { z } from 'zod';
import type { UserCredential } from '../store.js';

/** Why a credential store cannot be used. Messages never carry a token. */
export type CredentialStoreFailure = 'wrong-key' | 'corrupt' | 'unavailable' | 'locked';

export class CredentialStoreError extends Error {
  constructor(
    message: string,
    readonly reason: CredentialStoreFailure,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'CredentialStoreError';
  }
}

export const WRONG_KEY_MESSAGE = 'cannot decrypt the credential store: wrong gateway.credentials.key?';

/** How the master key is derived; stored with the records so parameters can change later. */
export interface KdfParams {
  name: 'scrypt';
  N: number;
  r: number;
  p: number;
  /** base64, 16 random bytes. */
  salt: string;
}

export const KdfParamsSchema = z.strictObject({
  name: z.literal('scrypt'),
  N: z
    .int()
    .min(1024)
    .max(2 ** 20)
    .refine((n) => (n & (n - 1)) === 0, 'a power of two'),
  r: z.int().min(1).max(32),
  p: z.int().min(1).max(16),
  salt: z.string().min(16),
});

/** Fresh parameters (N = 2^14, r = 8: 16 MiB, tens of milliseconds, once per store). */
export function newKdfParams(): KdfParams {
  return { name: 'scrypt', N: 2 ** 14, r: 8, p: 1, salt: randomBytes(16).toString('base64') };
}

const IV_BYTES = 12;
const TAG_BYTES = 16;
const CHECK_AAD = 'switchboard-credentials/check/v1';
const CHECK_TEXT = 'switchboard-credentials';
const RECORD_AAD = 'switchboard-credentials/record/v1/';
/** Records are sealed in multiples of this many characters. */
const PAD_TO = 256;

/** The cipher for `secret` under `kdf`: one scrypt run (tens of milliseconds, by design). */
export function deriveCipher(secret: string, kdf: KdfParams): Promise<CredentialCipher> {
  return scryptAsync(secret, Buffer.from(kdf.salt, 'base64'), kdf).then((master) => new CredentialCipher(master));
}

/** Bounded: a store sees one salt, or a few when its file or meta is re-created. */
const MAX_CACHED_CIPHERS = 32;

/**
 * Derived ciphers, by (hash of the secret, parameters), so a store pays for
 * scrypt once per salt rather than on every re-read of its file or meta.
 * Each store owns one: two gateways in one process share no key material.
 */
export class CipherCache {
  private readonly derived = new Map<string, Promise<CredentialCipher>>();

  derive(secret: string, kdf: KdfParams): Promise<CredentialCipher> {
    const id = `${createHash('sha256').update(secret).digest('hex')}:${kdf.N}:${kdf.r}:${kdf.p}:${kdf.salt}`;
    let cipher = this.derived.get(id);
    if (!cipher) {
      cipher = deriveCipher(secret, kdf);
      // A failed derivation is not remembered: the next call tries again.
      cipher.catch(() => this.derived.delete(id));
      if (this.derived.size >= MAX_CACHED_CIPHERS) this.derived.clear();
      this.derived.set(id, cipher);
    }
    return cipher;
  }
}

function scryptAsync(secret: string, salt: Buffer, kdf: KdfParams): Promise<Buffer> {
  return new Promise((resolve, reject) =>
    scrypt(secret, salt, 32, { N: kdf.N, r: kdf.r, p: kdf.p, maxmem: 256 * kdf.N * kdf.r + 1024 * 1024 }, (err, key) => (err ? reject(err) : resolve(key))),
  );
}

const StoredCredentialSchema = z.looseObject({
  principal: z.string(),
  server: z.string(),
  accessToken: z.string(),
  refreshToken: z.string().optional(),
  tokenType: z.string(),
  scope: z.string().optional(),
  expiresAt: z.number().optional(),
  obtainedAt: z.number(),
  subject: z.string().optional(),
  tokenEndpoint: z.string().optional(),
  authorizationServer: z.string().optional(),
  clientId: z.string().optional(),
  clientSecret: z.string().optional(),
  resource: z.string().optional(),
});

/** Thrown by `open` when authentication fails; callers turn it into a store error. */
export class SealError extends Error {
  constructor() {
    super('the sealed value does not authenticate');
    this.name = 'SealError';
  }
}

export class CredentialCipher {
  private readonly encKey: Buffer;
  private readonly macKey: Buffer;

  constructor(master: Buffer) {
    this.encKey = Buffer.from(hkdfSync('sha256', master, Buffer.alloc(0), 'switchboard-credentials/aes-256-gcm/v1', 32));
    this.macKey = Buffer.from(hkdfSync('sha256', master, Buffer.alloc(0), 'switchboard-credentials/lookup/v1', 32));
  }

  /** The lookup id of (principal, server): hex HMAC-SHA256, unambiguous for any strings. */
  recordId(principal: string, server: string): string {
    return createHmac('sha256', this.macKey)
      .update(JSON.stringify([principal, server]))
      .digest('hex');
  }

  /** base64(iv ‖ tag ‖ ciphertext) of `plaintext`, authenticated together with `aad`. */
  seal(plaintext: string, aad: string): string {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.encKey, iv);
    cipher.setAAD(Buffer.from(aad, 'utf8'));
    const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    return Buffer.concat([iv, cipher.getAuthTag(), body]).toString('base64');
  }

  /** The plaintext of `sealed`; SealError when it was sealed with another key or `aad`, or altered. */
  open(sealed: string, aad: string): string {
    const raw = Buffer.from(sealed, 'base64');
    if (raw.length < IV_BYTES + TAG_BYTES) throw new SealError();
    try {
      const decipher = createDecipheriv('aes-256-gcm', this.encKey, raw.subarray(0, IV_BYTES), { authTagLength: TAG_BYTES });
      decipher.setAAD(Buffer.from(aad, 'utf8'));
      decipher.setAuthTag(raw.subarray(IV_BYTES, IV_BYTES + TAG_BYTES));
      return Buffer.concat([decipher.update(raw.subarray(IV_BYTES + TAG_BYTES)), decipher.final()]).toString('utf8');
    } catch {
      throw new SealError();
    }
  }

  /** A value that proves, later, that a key is the one the store was created with. */
  makeCheck(): string {
    return this.seal(CHECK_TEXT, CHECK_AAD);
  }

  /** Throws CredentialStoreError('wrong-key') unless `check` was made with this key. */
  verifyCheck(check: string, where: string): void {
    let text: string;
    try {
      text = this.open(check, CHECK_AAD);
    } catch {
      throw new CredentialStoreError(`${WRONG_KEY_MESSAGE} (${where})`, 'wrong-key');
    }
    const a = Buffer.from(text);
    const b = Buffer.from(CHECK_TEXT);
    if (a.length !== b.length || !timingSafeEqual(a, b)) throw new CredentialStoreError(`${WRONG_KEY_MESSAGE} (${where})`, 'wrong-key');
  }

  /** The record's lookup id and its sealed form. */
  sealCredential(credential: UserCredential): { id: string; value: string } {
    const id = this.recordId(credential.principal, credential.server);
    // Padded (JSON ignores trailing spaces) so a record's size says little about its tokens.
    const json = JSON.stringify(credential);
    return { id, value: this.seal(json.padEnd(Math.ceil((json.length + 1) / PAD_TO) * PAD_TO, ' '), RECORD_AAD + id) };
  }

  /**
   * The credential stored under `id`. Throws CredentialStoreError('corrupt')
   * when it does not authenticate (altered, or moved from another slot) or
   * does not belong to the (principal, server) its id names.
   */
  openCredential(id: string, value: string, where: string): UserCredential {
    const damaged = () => new CredentialStoreError(`a credential record in ${where} is damaged or was tampered with (record ${id.slice(0, 12)}…)`, 'corrupt');
    let text: string;
    try {
      text = this.open(value, RECORD_AAD + id);
    } catch {
      throw damaged();
    }
    let parsed: z.output<typeof StoredCredentialSchema>;
    try {
      const result = StoredCredentialSchema.safeParse(JSON.parse(text));
      if (!result.success) throw damaged();
      parsed = result.data;
    } catch {
      throw damaged();
    }
    if (this.recordId(parsed.principal, parsed.server) !== id) throw damaged();
    return parsed as UserCredential;
  }
}
