/**
 * Users' upstream credentials in one encrypted JSON file (default
 * `<stateDir>/credentials.json`), safe to share between gateway processes and
 * `switchboard credentials` on the same host:
 *
 * - The file is 0600 (its folder 0700 when the store creates it) and is
 *   replaced atomically: a temporary file, fsync, rename. A reader never sees
 *   half a file.
 * - Writes are read-modify-write under a per-file promise queue (within a
 *   process) and a `<file>.lock` lock file (between processes), always on the
 *   freshest file, so concurrent put/delete never lose another record. The
 *   last writer of one record wins.
 * - Reads reuse the parsed file until it changes on disk (inode, size,
 *   mtime), so another process's writes are seen at the next call.
 * - Everything but the key-derivation parameters is ciphertext: see crypto.ts
 *   and the format below.
 *
 * ```json
 * { "format": "switchboard-credentials", "version": 1,
 *   "kdf": { "name": "scrypt", "N": 16384, "r": 8, "p": 1, "salt": "<base64>" },
 *   "check": "<sealed constant>",
 *   "records": { "<hex HMAC(principal, server)>": "<base64 iv|tag|AES-256-GCM(JSON record)>" } }
 * ```
 */
import { randomBytes } from 'node:crypto';
import type { BigIntStats } from 'node:fs';
import { hostname } from 'node:os';
import { chmod, mkdir, open, readFile, rm, stat, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { CredentialStoreError, deriveCipher, KdfParamsSchema, newKdfParams, type CredentialCipher, type KdfParams } from './crypto.js';
import { summaryOf, type CredentialStore, type CredentialSummary, type UserCredential } from './store.js';
import { writePrivateFile } from '../infra/files.js';

export const CREDENTIAL_FILE_FORMAT = 'switchboard-credentials';

interface FileContents {
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

/** The file as last read, and what identified that version of it. */
interface Snapshot {
  stamp: string;
  contents: FileContents;
  cipher: CredentialCipher;
}

export interface FileStoreOptions {
  /** How long a write waits for another process's lock before failing (default 5 s). */
  lockTimeoutMs?: number;
  /** A lock older than this is left over from a crash and is broken (default 30 s). */
  staleLockMs?: number;
}

/** Writes to one file, in order, across every store instance in this process. */
const queues = new Map<string, Promise<unknown>>();

function enqueue<T>(file: string, task: () => Promise<T>): Promise<T> {
  const previous = queues.get(file) ?? Promise.resolve();
  const run = previous.then(task, task);
  const tail = run.then(
    () => {},
    () => {},
  );
  queues.set(file, tail);
  void tail.then(() => {
    if (queues.get(file) === tail) queues.delete(file);
  });
  return run;
}

export class FileCredentialStore implements CredentialStore {
  readonly file: string;
  private snapshot?: Snapshot;
  private readonly lockTimeoutMs: number;
  private readonly staleLockMs: number;

  constructor(
    file: string,
    private readonly key: string,
    options: FileStoreOptions = {},
  ) {
    this.file = path.resolve(file);
    this.lockTimeoutMs = options.lockTimeoutMs ?? 5_000;
    this.staleLockMs = options.staleLockMs ?? 30_000;
  }

  async get(principal: string, server: string): Promise<UserCredential | undefined> {
    const snap = await this.current();
    if (!snap) return undefined;
    const id = snap.cipher.recordId(principal, server);
    const value = snap.contents.records[id];
    return value === undefined ? undefined : snap.cipher.openCredential(id, value, this.file);
  }

  async put(credential: UserCredential): Promise<void> {
    await this.modify((snap) => {
      const { id, value } = snap.cipher.sealCredential(credential);
      snap.contents.records[id] = value;
      return { result: undefined, changed: true };
    });
  }

  async delete(principal: string, server: string): Promise<boolean> {
    // No file: nothing to delete, and nothing to create.
    if (!(await this.current())) return false;
    return this.modify(
      (snap) => {
        const id = snap.cipher.recordId(principal, server);
        if (!(id in snap.contents.records)) return { result: false, changed: false };
        delete snap.contents.records[id];
        return { result: true, changed: true };
      },
      { value: false },
    );
  }

  async list(principal?: string): Promise<CredentialSummary[]> {
    const snap = await this.current();
    if (!snap) return [];
    const out: CredentialSummary[] = [];
    for (const [id, value] of Object.entries(snap.contents.records)) {
      const credential = snap.cipher.openCredential(id, value, this.file);
      if (principal === undefined || credential.principal === principal) out.push(summaryOf(credential));
    }
    return out.sort(bySlot);
  }

  async close(): Promise<void> {
    // Let writes already queued finish; nothing else is held open.
    await queues.get(this.file);
    this.snapshot = undefined;
  }

  /** The file as it is now (re-read when it changed), or undefined when there is none. */
  private async current(): Promise<Snapshot | undefined> {
    let handle: FileHandle;
    try {
      handle = await open(this.file, 'r');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
        this.snapshot = undefined;
        return undefined;
      }
      throw unreadable(this.file, err);
    }
    try {
      // The stamp and the bytes come from the same open file, so they agree even if it is replaced meanwhile.
      const s = await handle.stat({ bigint: true });
      const stamp = stampOf(s);
      if (this.snapshot?.stamp === stamp) return this.snapshot;
      const text = await handle.readFile('utf8');
      this.snapshot = await this.parse(text, stamp);
      return this.snapshot;
    } finally {
      await handle.close();
    }
  }

  private async parse(text: string, stamp: string): Promise<Snapshot> {
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      throw new CredentialStoreError(`${this.file} is not valid JSON: not a Switchboard credential store, or damaged`, 'corrupt');
    }
    const parsed = FileSchema.safeParse(json);
    if (!parsed.success) throw new CredentialStoreError(`${this.file} does not hold a Switchboard credential store (or it is damaged)`, 'corrupt');
    const contents = parsed.data as unknown as FileContents;
    const cipher = await deriveCipher(this.key, contents.kdf);
    cipher.verifyCheck(contents.check, this.file);
    return { stamp, contents, cipher };
  }

  /**
   * Read-modify-write under the queue and the lock, on a fresh read of the
   * file. With no file, `ifNoFile` is the answer; without it a new store is
   * started.
   */
  private modify<T>(change: (snap: Snapshot) => { result: T; changed: boolean }, ifNoFile?: { value: T }): Promise<T> {
    return enqueue(this.file, () =>
      this.withLock(async () => {
        this.snapshot = undefined;
        let snap = await this.current();
        if (!snap) {
          if (ifNoFile) return ifNoFile.value;
          snap = await this.fresh();
        }
        // Work on a copy: a failed write must not leave the cache ahead of the file.
        const working: Snapshot = { ...snap, contents: { ...snap.contents, records: { ...snap.contents.records } } };
        const { result, changed } = change(working);
        if (changed) {
          await this.write(working.contents);
          // Nobody else writes while we hold the lock: what is on disk now is `working`.
          const s = await stat(this.file, { bigint: true }).catch(() => undefined);
          if (s) this.snapshot = { ...working, stamp: stampOf(s) };
        }
        return result;
      }),
    );
  }

  /** An empty store with a new salt (not written yet). */
  private async fresh(): Promise<Snapshot> {
    const kdf = newKdfParams();
    const cipher = await deriveCipher(this.key, kdf);
    return { stamp: '', cipher, contents: { format: CREDENTIAL_FILE_FORMAT, version: 1, kdf, check: cipher.makeCheck(), records: {} } };
  }

  /** Writes `contents` atomically with mode 0600 (caller holds the lock). */
  private async write(contents: FileContents): Promise<void> {
    const dir = path.dirname(this.file);
    await ensureDir(dir);
    try {
      await writePrivateFile(this.file, `${JSON.stringify(contents, null, 2)}\n`, { sync: true });
    } catch (err) {
      throw new CredentialStoreError(`cannot write the credential store ${this.file} (${codeOf(err)})`, 'unavailable', { cause: err });
    }
  }

  /** Runs `fn` holding `<file>.lock` (created exclusively; a stale one, from a crash, is broken). */
  private async withLock<T>(fn: () => Promise<T>): Promise<T> {
    const lock = `${this.file}.lock`;
    const mine = JSON.stringify({ pid: process.pid, host: hostname(), nonce: randomBytes(8).toString('hex'), at: new Date().toISOString() });
    await ensureDir(path.dirname(this.file));
    const deadline = Date.now() + this.lockTimeoutMs;
    for (let attempt = 0; ; attempt++) {
      try {
        const handle = await open(lock, 'wx', 0o600);
        try {
          await handle.writeFile(mine, 'utf8');
        } finally {
          await handle.close();
        }
        break;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') {
          throw new CredentialStoreError(`cannot lock the credential store ${this.file} (${codeOf(err)})`, 'unavailable', { cause: err });
        }
      }
      if (await this.breakIfStale(lock)) continue;
      if (Date.now() > deadline) {
        throw new CredentialStoreError(
          `the credential store ${this.file} stayed locked for ${this.lockTimeoutMs} ms (${lock}); if no gateway or switchboard command is using it, remove that file`,
          'locked',
        );
      }
      await sleep(Math.min(5 * 2 ** Math.min(attempt, 4), 50) + Math.random() * 10);
    }
    try {
      return await fn();
    } finally {
      // Remove it only if it is still ours.
      const now = await readFile(lock, 'utf8').catch(() => undefined);
      if (now === mine) await rm(lock, { force: true });
    }
  }

  /** Removes a lock whose holder is gone (same host, dead pid) or that is older than staleLockMs. */
  private async breakIfStale(lock: string): Promise<boolean> {
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
    if (!dead && Date.now() - mtimeMs < this.staleLockMs) return false;
    // Break it only if it has not changed hands meanwhile.
    const again = await readFile(lock, 'utf8').catch(() => undefined);
    if (again === text) await rm(lock, { force: true });
    return true;
  }
}

/** What identifies one version of the file: a rename makes a new inode, a write changes size or mtime. */
function stampOf(s: BigIntStats): string {
  return `${s.dev}:${s.ino}:${s.size}:${s.mtimeNs}`;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Creates the folder (0700) if needed; a folder the store creates is private. */
async function ensureDir(dir: string): Promise<void> {
  try {
    const created = await mkdir(dir, { recursive: true, mode: 0o700 });
    if (created !== undefined) await chmod(dir, 0o700);
  } catch (err) {
    throw new CredentialStoreError(`cannot create the folder of the credential store ${dir} (${codeOf(err)})`, 'unavailable', { cause: err });
  }
}

function unreadable(file: string, err: unknown): CredentialStoreError {
  return new CredentialStoreError(`cannot read the credential store ${file} (${codeOf(err)})`, 'unavailable', { cause: err });
}

function codeOf(err: unknown): string {
  return (err as NodeJS.ErrnoException | undefined)?.code ?? (err instanceof Error ? err.message : String(err));
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export function bySlot(a: CredentialSummary, b: CredentialSummary): number {
  return a.principal < b.principal ? -1 : a.principal > b.principal ? 1 : a.server < b.server ? -1 : a.server > b.server ? 1 : 0;
}
