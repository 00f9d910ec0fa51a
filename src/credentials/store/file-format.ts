/**
 * The credential file's format, also the shape of the Redis store's `meta`
 * (without `records`). Everything but the key-derivation parameters is
 * ciphertext (crypto.ts):
 *
 * ```json
 * { "format": "switchboard-credentials", "version": 1,
 *   "kdf": { "name": "scrypt", "N": 16384, "r": 8, "p": 1, "salt": "<base64>" },
 *   "check": "<sealed constant>",
 *   "records": { "<hex HMAC(principal, server)>": "<base64 iv|tag|AES-256-GCM(JSON record)>" } }
 * ```
 */
import type { BigIntStats } from 'node:fs';
import { z } from 'zod';
import { CredentialStoreError, KdfParamsSchema, type KdfParams } from './crypto.js';

export const CREDENTIAL_FILE_FORMAT = 'switchboard-credentials';

export interface FileContents {
  format: typeof CREDENTIAL_FILE_FORMAT;
  version: 1;
  kdf: KdfParams;
  check: string;
  records: Record<string, string>;
}

const FileSchema = z.looseObject({
  format: z.literal(CREDENTIAL_FILE_FORMAT),
  version: z.literal(1),
  kdf: KdfParamsSchema,
  check: z.string().min(1),
  records: z.record(z.string().regex(/^[0-9a-f]{64}$/), z.string().min(1)),
});

/** The file's text as contents; CredentialStoreError('corrupt') when it is not a credential store. */
export function parseContents(text: string, file: string): FileContents {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new CredentialStoreError(`${file} is not valid JSON: not a Switchboard credential store, or damaged`, 'corrupt');
  }
  const parsed = FileSchema.safeParse(json);
  if (!parsed.success) throw new CredentialStoreError(`${file} does not hold a Switchboard credential store (or it is damaged)`, 'corrupt');
  return parsed.data as unknown as FileContents;
}

/** What identifies one version of the file: a rename makes a new inode, a write changes size or mtime. */
export function stampOf(s: BigIntStats): string {
  return `${s.dev}:${s.ino}:${s.size}:${s.mtimeNs}`;
}
