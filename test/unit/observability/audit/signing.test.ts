/**
 * Ed25519 checkpoint signing: a signer from a PEM private key (Ed25519 only),
 * its key id the SHA-256 of the SPKI DER public key, and signatures that verify
 * only for that hash and that key.
 */
import { createHash, generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { keyIdOf, publicKeyFromPem, signerFromPem, verifySignature } from '../../../../src/observability/audit/signing.js';

function ed25519() {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  return {
    privatePem: privateKey.export({ type: 'pkcs8', format: 'pem' }) as string,
    publicPem: publicKey.export({ type: 'spki', format: 'pem' }) as string,
    publicKey,
  };
}

const HASH = `sha256:${'0123456789abcdef'.repeat(4)}`;

describe('signerFromPem', () => {
  it('signs a hash so that the public key verifies it, and nothing else', () => {
    const k = ed25519();
    const signer = signerFromPem(k.privatePem);
    const signature = signer.sign(HASH);
    expect(Buffer.from(signature, 'base64')).toHaveLength(64);
    expect(verifySignature(k.publicKey, HASH, signature)).toBe(true);
    // Ed25519 is deterministic.
    expect(signer.sign(HASH)).toBe(signature);
    expect(verifySignature(k.publicKey, HASH.replace(/0/, '1'), signature)).toBe(false);
    expect(verifySignature(ed25519().publicKey, HASH, signature)).toBe(false);
    expect(verifySignature(k.publicKey, HASH, '')).toBe(false);
    expect(verifySignature(k.publicKey, HASH, 'not base64 at all!')).toBe(false);
    expect(verifySignature(k.publicKey, HASH, Buffer.alloc(64).toString('base64'))).toBe(false);
  });

  it('takes a Buffer as well as a string', () => {
    const k = ed25519();
    const signer = signerFromPem(Buffer.from(k.privatePem));
    expect(verifySignature(k.publicKey, HASH, signer.sign(HASH))).toBe(true);
  });

  it('names the key by the SHA-256 of its SPKI DER public key', () => {
    const k = ed25519();
    const expected = `sha256:${createHash('sha256')
      .update(k.publicKey.export({ type: 'spki', format: 'der' }))
      .digest('hex')}`;
    expect(keyIdOf(k.publicKey)).toBe(expected);
    expect(signerFromPem(k.privatePem).keyId).toBe(expected);
    expect(keyIdOf(publicKeyFromPem(k.publicPem))).toBe(expected);
    expect(keyIdOf(ed25519().publicKey)).not.toBe(expected);
  });

  it('refuses keys that are not Ed25519, and what is not a key', () => {
    const rsa = generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey.export({ type: 'pkcs8', format: 'pem' });
    const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'pkcs8', format: 'pem' });
    expect(() => signerFromPem(rsa)).toThrow(/must be an Ed25519 private key \(this one is rsa\)/);
    expect(() => signerFromPem(ec)).toThrow(/this one is ec/);
    expect(() => signerFromPem('not a pem')).toThrow();
    // A public key cannot sign.
    expect(() => signerFromPem(ed25519().publicPem)).toThrow();
  });
});

describe('publicKeyFromPem', () => {
  it('reads an Ed25519 public key and refuses any other kind', () => {
    const k = ed25519();
    expect(publicKeyFromPem(k.publicPem).asymmetricKeyType).toBe('ed25519');
    const rsa = generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey.export({ type: 'spki', format: 'pem' });
    expect(() => publicKeyFromPem(rsa)).toThrow(/must be Ed25519 \(this one is rsa\)/);
    expect(() => publicKeyFromPem('garbage')).toThrow();
  });
});
