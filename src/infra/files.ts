/**
 * Files that hold secrets (tokens, the credential store) are written one
 * way: to a fresh temp file beside the target, created 0600 and exclusive,
 * then renamed over it, so a reader never sees half a file and nobody else
 * can read even the temp.
 */
import { randomBytes } from 'node:crypto';
import { open, rename, rm } from 'node:fs/promises';
import path from 'node:path';

/** Writes `text` to `file` atomically with mode 0600; `sync` flushes it to disk before the rename. */
export async function writePrivateFile(file: string, text: string, options: { sync?: boolean } = {}): Promise<void> {
  const temp = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
  try {
    const handle = await open(temp, 'wx', 0o600);
    try {
      await handle.writeFile(text, 'utf8');
      if (options.sync) await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temp, file);
  } catch (err) {
    await rm(temp, { force: true });
    throw err;
  }
}
