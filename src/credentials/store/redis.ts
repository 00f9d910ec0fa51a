/**
 * Users' upstream credentials in Redis, shared by every replica, with the
 * same encryption as the file store (crypto.ts):
 *
 * - `<prefix>meta`: JSON `{ format, version, kdf, check }`, the scrypt salt and
 *   the key check, created once (SET NX) by whichever replica writes first.
 * - `<prefix>r:<hex HMAC(principal, server)>`: one string per credential,
 *   base64(iv ‖ tag ‖ AES-256-GCM(JSON record)), bound to its key name.
 *
 * `list` walks the records with SCAN. Redis being unreachable never stalls a
 * caller: commands are not queued while disconnected, each waits at most
 * `timeoutMs` (default 2 s) for a connection or an answer, and the failure is
 * a CredentialStoreError('unavailable') naming the server (never its
 * password). ioredis keeps reconnecting by itself; the outage is logged once.
 */
import { createRedisClient, type Redis } from '../../infra/redis.js';
import { z } from 'zod';
import type { Logger } from '../../observability/log.js';
import { bySlot, summaryOf, type CredentialStore, type CredentialStoreHealth, type CredentialSummary, type UserCredential } from '../store.js';
import { CipherCache, CredentialStoreError, KdfParamsSchema, newKdfParams, type CredentialCipher } from './crypto.js';
import { CREDENTIAL_FILE_FORMAT } from './file-format.js';

export interface RedisCredentialStoreSettings {
  url: string;
  prefix: string;
  /** gateway.credentials.key */
  key: string;
  /** Longest wait for a connection or one command (default 2000 ms). */
  timeoutMs?: number;
}

const MetaSchema = z.looseObject({
  format: z.literal(CREDENTIAL_FILE_FORMAT),
  version: z.literal(1),
  kdf: KdfParamsSchema,
  check: z.string().min(1),
});

const SCAN_COUNT = 500;

export class RedisCredentialStore implements CredentialStore {
  private readonly redis: Redis;
  private readonly timeoutMs: number;
  /** `redis://host:port`: where, for messages, without credentials. */
  private readonly where: string;
  /** The meta value last verified, and its cipher. */
  private verified?: { meta: string; cipher: CredentialCipher };
  private lastError?: string;
  private outageLogged = false;
  private closed = false;
  private creating?: Promise<string>;
  private connecting?: Promise<void>;

  constructor(
    private readonly settings: RedisCredentialStoreSettings,
    private readonly log: Logger,
    /** Derived keys; by default the store's own (two gateways in one process share none). */
    private readonly ciphers: CipherCache = new CipherCache(),
  ) {
    this.timeoutMs = settings.timeoutMs ?? 2_000;
    this.where = redactedUrl(settings.url);
    this.redis = createRedisClient(settings.url, { commandTimeoutMs: this.timeoutMs, connectTimeoutMs: this.timeoutMs, lazyConnect: true });
    this.redis.on('ready', () => {
      if (this.outageLogged) this.log.info('credential store reachable again', { store: 'redis', url: this.where });
      this.outageLogged = false;
      this.lastError = undefined;
    });
    this.redis.on('error', (err: Error) => this.down(err.message));
  }

  private get metaKey(): string {
    return `${this.settings.prefix}meta`;
  }

  private recordKey(id: string): string {
    return `${this.settings.prefix}r:${id}`;
  }

  async get(principal: string, server: string): Promise<UserCredential | undefined> {
    const known = this.verified;
    if (known) {
      // One round trip on the hot path: the record, and `meta` to confirm the key still applies.
      const id = known.cipher.recordId(principal, server);
      const [meta, value] = await this.run(() => this.redis.mget(this.metaKey, this.recordKey(id)));
      if (meta === known.meta) return value === null || value === undefined ? undefined : known.cipher.openCredential(id, value, this.where);
    }
    const cipher = await this.cipher(false);
    if (!cipher) return undefined;
    const id = cipher.recordId(principal, server);
    const value = await this.run(() => this.redis.get(this.recordKey(id)));
    return value === null ? undefined : cipher.openCredential(id, value, this.where);
  }

  async put(credential: UserCredential): Promise<void> {
    const cipher = (await this.cipher(true))!;
    const { id, value } = cipher.sealCredential(credential);
    await this.run(() => this.redis.set(this.recordKey(id), value));
  }

  async delete(principal: string, server: string): Promise<boolean> {
    const cipher = await this.cipher(false);
    if (!cipher) return false;
    const removed = await this.run(() => this.redis.del(this.recordKey(cipher.recordId(principal, server))));
    return removed > 0;
  }

  async list(principal?: string): Promise<CredentialSummary[]> {
    const cipher = await this.cipher(false);
    if (!cipher) return [];
    const match = `${escapeGlob(this.settings.prefix)}r:*`;
    // By id: SCAN may return a key twice.
    const out = new Map<string, CredentialSummary>();
    let cursor = '0';
    do {
      const [next, keys] = await this.run(() => this.redis.scan(cursor, 'MATCH', match, 'COUNT', SCAN_COUNT));
      cursor = next;
      if (keys.length === 0) continue;
      const values = await this.run(() => this.redis.mget(...keys));
      keys.forEach((key, i) => {
        const value = values[i];
        const id = key.slice(this.settings.prefix.length + 2);
        // Deleted between SCAN and MGET, or not one of ours.
        if (value === null || value === undefined || !/^[0-9a-f]{64}$/.test(id)) return;
        const credential = cipher.openCredential(id, value, this.where);
        if (principal === undefined || credential.principal === principal) out.set(id, summaryOf(credential));
      });
    } while (cursor !== '0');
    return [...out.values()].sort(bySlot);
  }

  async close(): Promise<void> {
    this.closed = true;
    this.redis.removeAllListeners('ready');
    if (this.redis.status === 'wait' || this.redis.status === 'end') {
      this.redis.disconnect();
      return;
    }
    await withTimeout(this.redis.quit(), this.timeoutMs).catch(() => this.redis.disconnect());
  }

  /**
   * The cipher for this prefix, after checking the key against `meta`
   * (re-read every call, so a flushed or re-created store is noticed).
   * `create`: make `meta` when there is none; otherwise undefined then.
   */
  private async cipher(create: boolean): Promise<CredentialCipher | undefined> {
    let meta = await this.run(() => this.redis.get(this.metaKey));
    if (meta === null) {
      if (!create) return undefined;
      // One creation at a time per instance: concurrent first writes share it (and one scrypt).
      this.creating ??= this.createMeta().finally(() => (this.creating = undefined));
      meta = await this.creating;
    }
    if (this.verified?.meta === meta) return this.verified.cipher;
    let parsed: z.output<typeof MetaSchema>;
    try {
      parsed = MetaSchema.parse(JSON.parse(meta));
    } catch {
      throw new CredentialStoreError(`${this.metaKey} at ${this.where} does not describe a Switchboard credential store (or it is damaged)`, 'corrupt');
    }
    const cipher = await this.ciphers.derive(this.settings.key, parsed.kdf);
    cipher.verifyCheck(parsed.check, `${this.where}, prefix "${this.settings.prefix}"`);
    this.verified = { meta, cipher };
    return cipher;
  }

  /** Sets `meta` unless another replica did first; returns the one in force. */
  private async createMeta(): Promise<string> {
    const kdf = newKdfParams();
    const fresh = await this.ciphers.derive(this.settings.key, kdf);
    const value = JSON.stringify({ format: CREDENTIAL_FILE_FORMAT, version: 1, kdf, check: fresh.makeCheck() });
    // Whoever sets it first wins; everyone then uses that one.
    await this.run(() => this.redis.set(this.metaKey, value, 'NX'));
    const meta = await this.run(() => this.redis.get(this.metaKey));
    if (meta === null)
      throw new CredentialStoreError(`the credential store at ${this.where} lost its ${this.metaKey} key while it was being created`, 'unavailable');
    return meta;
  }

  /** Runs one command once connected; every failure is a CredentialStoreError('unavailable'). */
  private async run<T>(command: () => Promise<T>): Promise<T> {
    if (this.closed) throw new CredentialStoreError(`the credential store at ${this.where} is closed`, 'unavailable');
    try {
      await this.connected();
      return await command();
    } catch (err) {
      if (err instanceof CredentialStoreError) throw err;
      const message = err instanceof Error ? err.message : String(err);
      this.down(message);
      throw new CredentialStoreError(`the credential store at ${this.where} is unreachable: ${message}`, 'unavailable', { cause: err });
    }
  }

  /** Resolves once connected; rejects after timeoutMs. Concurrent callers share one wait. */
  private connected(): Promise<void> {
    const redis = this.redis;
    if (redis.status === 'ready') return Promise.resolve();
    if (redis.status === 'wait') redis.connect().catch(() => {});
    this.connecting ??= new Promise<void>((resolve, reject) => {
      const done = (err?: Error) => {
        clearTimeout(timer);
        redis.off('ready', onReady);
        redis.off('end', onEnd);
        this.connecting = undefined;
        if (err) reject(err);
        else resolve();
      };
      const onReady = () => done();
      const onEnd = () => done(new Error(this.lastError ?? 'connection closed'));
      const timer = setTimeout(
        () => done(new Error(`no connection within ${this.timeoutMs} ms${this.lastError ? ` (${this.lastError})` : ''}`)),
        this.timeoutMs,
      );
      redis.on('ready', onReady);
      redis.on('end', onEnd);
    });
    return this.connecting;
  }

  health(): CredentialStoreHealth {
    return { type: 'redis', state: this.lastError === undefined ? 'up' : 'down' };
  }

  private down(error: string): void {
    this.lastError = error;
    if (this.outageLogged || this.closed) return;
    // Once per outage: ioredis reports every failed reconnect attempt.
    this.outageLogged = true;
    this.log.warn('credential store unreachable', { store: 'redis', url: this.where, error });
  }
}

/** `redis[s]://host:port`, without user, password or database. */
function redactedUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}`;
  } catch {
    return 'redis';
  }
}

/** The prefix as a literal inside a SCAN MATCH pattern. */
function escapeGlob(text: string): string {
  return text.replace(/[*?[\]\\]/g, (c) => `\\${c}`);
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error('timed out')), ms)));
  return Promise.race([promise, deadline]).finally(() => clearTimeout(timer));
}
