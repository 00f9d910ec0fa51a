/**
 * Ed25519 checkpoints (node:crypto): the gateway signs a checkpoint line's
 * hash with `audit.signingKey`; a verifier with the public key can then prove
 * the chain up to it, and with a final checkpoint that nothing was cut off
 * the end. The key id is the SHA-256 of the public key, so a verifier knows
 * which key a checkpoint claims.
 */
import { createHash, createPrivateKey, createPublicKey, sign, verify, type KeyObject } from 'node:crypto';

export interface Signer {
  keyId: string;
  sign(hash: string): string;
}

/** A signer from a PEM private key; throws a clear error for anything but Ed25519. */
export function signerFromPem(pem: string | Buffer): Signer {
  const key = createPrivateKey(pem);
  if (key.asymmetricKeyType !== 'ed25519') throw new Error(`audit.signingKey must be an Ed25519 private key (this one is ${key.asymmetricKeyType})`);
  const keyId = keyIdOf(createPublicKey(key));
  return { keyId, sign: (hash) => sign(null, Buffer.from(hash), key).toString('base64') };
}

export function keyIdOf(publicKey: KeyObject): string {
  return `sha256:${createHash('sha256')
    .update(publicKey.export({ type: 'spki', format: 'der' }))
    .digest('hex')}`;
}

/** Whether `signature` is the key's Ed25519 signature of `hash`. */
export function verifySignature(publicKey: KeyObject, hash: string, signature: string): boolean {
  try {
    return verify(null, Buffer.from(hash), publicKey, Buffer.from(signature, 'base64'));
  } catch {
    return false;
  }
}

export function publicKeyFromPem(pem: string | Buffer): KeyObject {
  const key = createPublicKey(pem);
  if (key.asymmetricKeyType !== 'ed25519') throw new Error(`the public key must be Ed25519 (this one is ${key.asymmetricKeyType})`);
  return key;
}
