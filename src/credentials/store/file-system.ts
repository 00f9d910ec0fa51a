/** The file store's dealings with the filesystem that are not the lock: its private folder, and errors worth a message. */
import { chmod, mkdir } from 'node:fs/promises';
import { CredentialStoreError } from './crypto.js';

/** Creates the folder (0700) if needed; a folder the store creates is private. */
export async function ensureDir(dir: string): Promise<void> {
  try {
    const created = await mkdir(dir, { recursive: true, mode: 0o700 });
    if (created !== undefined) await chmod(dir, 0o700);
  } catch (err) {
    throw new CredentialStoreError(`cannot create the folder of the credential store ${dir} (${codeOf(err)})`, 'unavailable', { cause: err });
  }
}

export function unreadable(file: string, err: unknown): CredentialStoreError {
  return new CredentialStoreError(`cannot read the credential store ${file} (${codeOf(err)})`, 'unavailable', { cause: err });
}

/** The errno code (EACCES, ENOSPC…) that says what went wrong, never a path's contents. */
export function codeOf(err: unknown): string {
  return (err as NodeJS.ErrnoException | undefined)?.code ?? (err instanceof Error ? err.message : String(err));
}
