/**
 * `<file>.lock`: what orders writes to one credential file between stores
 * (other processes, or other stores in this process). Created exclusively,
 * holding who took it; removed only by its holder, or broken when its holder
 * is gone (same host, dead pid) or it is older than the stale age (a crash).
 */
import { randomBytes } from 'node:crypto';
import { open, readFile, rm, stat } from 'node:fs/promises';
import { hostname } from 'node:os';
import path from 'node:path';
import { CredentialStoreError } from './crypto.js';
import { codeOf, ensureDir } from './file-system.js';

export interface FileLockOptions {
  /** How long to wait for another holder before failing ('locked'). */
  timeoutMs: number;
  /** A lock older than this is left over from a crash and is broken. */
  staleMs: number;
}

/** Runs `fn` holding `<file>.lock`. */
export async function withFileLock<T>(file: string, options: FileLockOptions, fn: () => Promise<T>): Promise<T> {
  const lock = `${file}.lock`;
  const mine = JSON.stringify({ pid: process.pid, host: hostname(), nonce: randomBytes(8).toString('hex'), at: new Date().toISOString() });
  await ensureDir(path.dirname(file));
  await acquire(file, lock, mine, options);
  try {
    return await fn();
  } finally {
    // Remove it only if it is still ours.
    const now = await readFile(lock, 'utf8').catch(() => undefined);
    if (now === mine) await rm(lock, { force: true });
  }
}

async function acquire(file: string, lock: string, mine: string, options: FileLockOptions): Promise<void> {
  const deadline = Date.now() + options.timeoutMs;
  for (let attempt = 0; ; attempt++) {
    if (await tryCreate(file, lock, mine)) return;
    if (await breakIfStale(lock, options.staleMs)) continue;
    if (Date.now() > deadline) {
      throw new CredentialStoreError(
        `the credential store ${file} stayed locked for ${options.timeoutMs} ms (${lock}); if no gateway or switchboard command is using it, remove that file`,
        'locked',
      );
    }
    await sleep(Math.min(5 * 2 ** Math.min(attempt, 4), 50) + Math.random() * 10);
  }
}

/** True when the lock was created (and now holds `mine`); false when someone else holds it. */
async function tryCreate(file: string, lock: string, mine: string): Promise<boolean> {
  try {
    const handle = await open(lock, 'wx', 0o600);
    try {
      await handle.writeFile(mine, 'utf8');
    } finally {
      await handle.close();
    }
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw new CredentialStoreError(`cannot lock the credential store ${file} (${codeOf(err)})`, 'unavailable', { cause: err });
  }
}

/** Removes a lock whose holder is gone (same host, dead pid) or that is older than staleMs. */
async function breakIfStale(lock: string, staleMs: number): Promise<boolean> {
  let text: string;
  let mtimeMs: number;
  try {
    [text, mtimeMs] = await Promise.all([readFile(lock, 'utf8'), stat(lock).then((s) => s.mtimeMs)]);
  } catch (err) {
    // Released meanwhile: try again at once.
    return (err as NodeJS.ErrnoException).code === 'ENOENT';
  }
  let holder: { pid?: unknown; host?: unknown } = {};
  try {
    holder = JSON.parse(text) as typeof holder;
  } catch {
    // Being written right now, or garbage: only age can tell.
  }
  const dead = holder.host === hostname() && typeof holder.pid === 'number' && holder.pid !== process.pid && !alive(holder.pid);
  if (!dead && Date.now() - mtimeMs < staleMs) return false;
  // Break it only if it has not changed hands meanwhile.
  const again = await readFile(lock, 'utf8').catch(() => undefined);
  if (again === text) await rm(lock, { force: true });
  return true;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
