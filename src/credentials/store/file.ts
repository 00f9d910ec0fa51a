/**
 * Users' upstream credentials in one encrypted JSON file (default
 * `<stateDir>/credentials.json`), safe to share between gateway processes and
 * `switchboard credentials` on the same host:
 *
 * - The file is 0600 (its folder 0700 when the store creates it) and is
 *   replaced atomically: a temporary file, fsync, rename. A reader never sees
 *   half a file.
 * - Writes are read-modify-write under the store's own queue (serial-queue.ts)
 *   and a `<file>.lock` lock file (file-lock.ts, between stores and
 *   processes), always on the freshest file, so concurrent put/delete never
 *   lose another record. The last writer of one record wins.
 * - Reads reuse the parsed file until it changes on disk (inode, size,
 *   mtime), so another process's writes are seen at the next call.
 * - Everything but the key-derivation parameters is ciphertext: see crypto.ts
 *   and the format in file-format.ts.
 */
import { open, stat, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { writePrivateFile } from '../../infra/files.js';
import { bySlot, summaryOf, type CredentialStore, type CredentialStoreHealth, type CredentialSummary, type UserCredential } from '../store.js';
import { CipherCache, CredentialStoreError, newKdfParams, type CredentialCipher } from './crypto.js';
import { CREDENTIAL_FILE_FORMAT, parseContents, stampOf, type FileContents } from './file-format.js';
import { withFileLock, type FileLockOptions } from './file-lock.js';
import { codeOf, ensureDir, unreadable } from './file-system.js';
import { SerialQueue } from './serial-queue.js';

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
  /** Derived keys; by default the store's own (pass one to share scrypt work between stores of one owner). */
  ciphers?: CipherCache;
}

export class FileCredentialStore implements CredentialStore {
  readonly file: string;
  private snapshot?: Snapshot;
  private readonly lock: FileLockOptions;
  /** This store's writes, in order. */
  private readonly writes = new SerialQueue();
  private readonly ciphers: CipherCache;

  constructor(
    file: string,
    private readonly key: string,
    options: FileStoreOptions = {},
  ) {
    this.file = path.resolve(file);
    this.lock = { timeoutMs: options.lockTimeoutMs ?? 5_000, staleMs: options.staleLockMs ?? 30_000 };
    this.ciphers = options.ciphers ?? new CipherCache();
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

  health(): CredentialStoreHealth {
    // A file store's failures are answered to the request that met them; it has no connection to lose.
    return { type: 'file', state: 'up' };
  }

  async close(): Promise<void> {
    // Let writes already queued finish; nothing else is held open.
    await this.writes.idle();
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
    const contents = parseContents(text, this.file);
    const cipher = await this.ciphers.derive(this.key, contents.kdf);
    cipher.verifyCheck(contents.check, this.file);
    return { stamp, contents, cipher };
  }

  /**
   * Read-modify-write under the queue and the lock, on a fresh read of the
   * file. With no file, `ifNoFile` is the answer; without it a new store is
   * started.
   */
  private modify<T>(change: (snap: Snapshot) => { result: T; changed: boolean }, ifNoFile?: { value: T }): Promise<T> {
    return this.writes.run(() =>
      withFileLock(this.file, this.lock, async () => {
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
    const cipher = await this.ciphers.derive(this.key, kdf);
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
}
