/**
 * Approvals in Redis, shared by replicas: a call parks on one, an approver
 * may decide on another. Keys under `prefix`:
 * - `a:<id>` the pending approval (JSON), expiring at its expiresAt (PX);
 * - `d:<id>` its decision (JSON), written NX: the first decision wins;
 * - `pending` ids by createdAt (the listing order), `u:<principal>` one
 *   caller's ids (its bound); members whose `a:` is gone are dropped lazily;
 * - `g:<key>` a remembered grant (JSON) with its own TTL;
 * - channel `decided`: the id of each new decision.
 * A waiting call is woken by pub/sub on a second connection. A message sent
 * before the subscription is active or while the subscriber is disconnected
 * is lost, so the stored decision is also read once `wait` has subscribed and
 * whenever a connection is ready again. No command waits over `timeoutMs`.
 */
import { createRedisClient, type Redis } from '../infra/redis.js';
import type { Logger } from '../observability/log.js';
import { ApprovalStoreFull, MAX_PENDING, MAX_PENDING_PER_PRINCIPAL } from './memory-store.js';
import type { ApprovalDecision, ApprovalStore, PendingApproval } from './types.js';

export interface RedisApprovalStoreSettings {
  url: string;
  /** All keys start with it, e.g. `switchboard:approvals:`. */
  prefix: string;
  /** Longest wait for a connection or one command (default 2000 ms). */
  timeoutMs?: number;
}

/** How long a decision outlives its approval's expiry, so that a call which starts waiting late still sees it. */
const DECISION_GRACE_MS = 60_000;

/**
 * KEYS: approval, pending set, caller's set. ARGV: approval JSON, ttl, id, createdAt, max, max per caller, approval key prefix, grace.
 * 0 when opened, 1 when the caller is full, 2 when the gateway is: the checks and the write are one step, so replicas cannot overshoot.
 */
const OPEN_SCRIPT = `
local function prune(set)
  for _, id in ipairs(redis.call('ZRANGE', set, 0, -1)) do
    if redis.call('EXISTS', ARGV[7] .. id) == 0 then redis.call('ZREM', set, id) end
  end
  return redis.call('ZCARD', set)
end
if prune(KEYS[3]) >= tonumber(ARGV[6]) then return 1 end
-- The whole set is walked only when it looks full, which also bounds its stale members.
local max = tonumber(ARGV[5])
if redis.call('ZCARD', KEYS[2]) >= max and prune(KEYS[2]) >= max then return 2 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
-- The sets outlive their members, so they never linger once unused.
local keep = tonumber(ARGV[2]) + tonumber(ARGV[8])
for _, set in ipairs({KEYS[2], KEYS[3]}) do
  redis.call('ZADD', set, ARGV[4], ARGV[3])
  if redis.call('PTTL', set) < keep then redis.call('PEXPIRE', set, keep) end
end
return 0
`;

/**
 * KEYS: approval, decision. ARGV: decision JSON, grace, channel, id. 1 when
 * this is the first decision on a live approval, which then lives as long as
 * its decision (as in the memory store, a decided one does not expire unseen).
 */
const DECIDE_SCRIPT = `
local left = redis.call('PTTL', KEYS[1])
if left == -2 then return 0 end
local ttl = math.max(left, 0) + tonumber(ARGV[2])
if not redis.call('SET', KEYS[2], ARGV[1], 'NX', 'PX', ttl) then return 0 end
redis.call('PEXPIRE', KEYS[1], ttl)
redis.call('PUBLISH', ARGV[3], ARGV[4])
return 1
`;

export class RedisApprovalStore implements ApprovalStore {
  private readonly redis: Redis;
  /** In subscriber mode: it can only (un)subscribe, so it has a connection of its own. */
  private readonly sub: Redis;
  private readonly timeoutMs: number;
  private readonly where: string;
  private readonly channel: string;
  private readonly waiters = new Map<string, Set<(d: ApprovalDecision) => void>>();
  /** The last error of each connection that is not ready; empty when both are fine. */
  private readonly errors = new Map<Redis, string>();
  private readonly connecting = new Map<Redis, Promise<void>>();
  /** Settles once the subscription is active; reset when the subscriber's connection closes. */
  private listening?: Promise<unknown>;
  private outageLogged = false;
  private closed = false;

  constructor(
    private readonly settings: RedisApprovalStoreSettings,
    private readonly log: Logger,
  ) {
    this.timeoutMs = settings.timeoutMs ?? 2_000;
    this.where = settings.url.replace(/^(\w+:\/\/)[^@/]*@/, '$1');
    this.channel = `${settings.prefix}decided`;
    const options = { commandTimeoutMs: this.timeoutMs, connectTimeoutMs: this.timeoutMs, lazyConnect: true };
    this.redis = createRedisClient(settings.url, options);
    this.sub = createRedisClient(settings.url, options);
    this.redis.defineCommand('approvalOpen', { lua: OPEN_SCRIPT });
    this.redis.defineCommand('approvalDecide', { lua: DECIDE_SCRIPT });
    for (const client of [this.redis, this.sub]) {
      client.on('error', (err: Error) => this.down(client, err.message));
      client.on('close', () => this.down(client, this.errors.get(client) ?? 'connection closed'));
      client.on('ready', () => this.up(client));
    }
    this.sub.on('close', () => (this.listening = undefined));
    this.sub.on('message', (channel: string, id: string) => {
      if (channel === this.channel) void this.check(id);
    });
  }

  async open(approval: PendingApproval): Promise<void> {
    const { id, principal, createdAt } = approval;
    const ttl = Math.max(1, approval.expiresAt - Date.now());
    const keys = [this.key('a', id), this.key('pending'), this.key('u', principal)];
    const args = [JSON.stringify(approval), ttl, id, createdAt, MAX_PENDING, MAX_PENDING_PER_PRINCIPAL, this.key('a', ''), DECISION_GRACE_MS];
    const full = await this.script('approvalOpen', keys, args);
    if (full === 1) throw new ApprovalStoreFull('this caller has too many calls waiting for approval');
    if (full === 2) throw new ApprovalStoreFull('too many calls wait for approval');
  }

  async get(id: string): Promise<PendingApproval | undefined> {
    return parse<PendingApproval>(await this.run(() => this.redis.get(this.key('a', id))));
  }

  async pending(): Promise<PendingApproval[]> {
    const ids = await this.run(() => this.redis.zrange(this.key('pending'), 0, -1));
    if (ids.length === 0) return [];
    const [approvals, decisions] = await this.run(() =>
      Promise.all([this.redis.mget(ids.map((id) => this.key('a', id))), this.redis.mget(ids.map((id) => this.key('d', id)))]),
    );
    const stale = ids.filter((_, i) => approvals[i] === null);
    if (stale.length > 0) await this.redis.zrem(this.key('pending'), ...stale).catch(() => {});
    const now = Date.now();
    return approvals.flatMap((value, i) => {
      const approval = decisions[i] === null ? parse<PendingApproval>(value) : undefined;
      return approval && approval.expiresAt > now ? [approval] : [];
    });
  }

  async decide(id: string, decision: ApprovalDecision): Promise<boolean> {
    const args = [JSON.stringify(decision), DECISION_GRACE_MS, this.channel, id];
    return (await this.script('approvalDecide', [this.key('a', id), this.key('d', id)], args)) === 1;
  }

  wait(id: string, timeoutMs: number, signal: AbortSignal): Promise<ApprovalDecision | undefined> {
    return new Promise((resolve) => {
      let settled = false;
      const done = (decision: ApprovalDecision | undefined) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        signal.removeEventListener('abort', onAbort);
        const set = this.waiters.get(id);
        if (set?.delete(wake) && set.size === 0) this.waiters.delete(id);
        void this.finish(id).then(() => resolve(decision));
      };
      const wake = (decision: ApprovalDecision) => done(decision);
      const onAbort = () => done(undefined);
      const timer = setTimeout(() => done(undefined), timeoutMs);
      if (signal.aborted) return done(undefined);
      signal.addEventListener('abort', onAbort, { once: true });
      this.waiters.set(id, (this.waiters.get(id) ?? new Set()).add(wake));
      // Read only once subscribed: a decision is then either stored before the read or published after the subscription.
      void this.listen()
        .catch(() => {})
        .then(() => this.check(id));
    });
  }

  /** The caller's set is left alone: its member is dropped lazily once `a:` is gone. */
  async close(id: string): Promise<void> {
    await this.run(() => Promise.all([this.redis.del(this.key('a', id), this.key('d', id)), this.redis.zrem(this.key('pending'), id)]));
  }

  async remember(key: string, decision: ApprovalDecision, ttlMs: number): Promise<void> {
    await this.run(() => this.redis.set(this.key('g', key), JSON.stringify(decision), 'PX', Math.max(1, Math.ceil(ttlMs))));
  }

  async remembered(key: string): Promise<ApprovalDecision | undefined> {
    return parse<ApprovalDecision>(await this.run(() => this.redis.get(this.key('g', key))));
  }

  /** GETDEL is one step: of two replicas taking the same grant, one gets it. */
  async take(key: string): Promise<ApprovalDecision | undefined> {
    return parse<ApprovalDecision>(await this.run(() => this.redis.getdel(this.key('g', key))));
  }

  health(): { type: 'redis'; state: 'up' | 'down' } {
    return { type: 'redis', state: this.errors.size === 0 ? 'up' : 'down' };
  }

  async shutdown(): Promise<void> {
    this.closed = true;
    await Promise.all([this.redis, this.sub].map(quit));
  }

  /** Runs a script defined in the constructor (EVALSHA, loading it when Redis lacks it). */
  private script(name: string, keys: string[], args: (string | number)[]): Promise<number> {
    const command = (this.redis as unknown as Record<string, (...a: unknown[]) => Promise<number>>)[name]!;
    return this.run(() => command.call(this.redis, keys.length, ...keys, ...args));
  }

  private key(kind: string, id?: string): string {
    return id === undefined ? `${this.settings.prefix}${kind}` : `${this.settings.prefix}${kind}:${id}`;
  }

  /** The end of a wait; a failure only leaves keys that expire on their own. */
  private async finish(id: string): Promise<void> {
    if (this.closed) return;
    await this.close(id).catch((err: Error) => this.log.warn('approval not removed after its wait', { store: 'redis', error: err.message }));
  }

  /** Wakes the calls waiting on `id` if it is decided. A failed read is repeated when the connection is back. */
  private async check(id: string): Promise<void> {
    if (!this.waiters.has(id)) return;
    const decision = await this.run(() => this.redis.get(this.key('d', id))).then(parse<ApprovalDecision>, () => undefined);
    if (decision) for (const wake of [...(this.waiters.get(id) ?? [])]) wake(decision);
  }

  /** Concurrent waits share one subscription; ioredis also resubscribes by itself after a reconnect. */
  private listen(): Promise<unknown> {
    this.listening ??= this.connected(this.sub)
      .then(() => this.sub.subscribe(this.channel))
      .catch((err: unknown) => {
        this.listening = undefined;
        throw err;
      });
    return this.listening;
  }

  /** Runs one command once connected; a failure names the server (never its password). */
  private async run<T>(command: () => Promise<T>): Promise<T> {
    if (this.closed) throw new Error(`the approval store at ${this.where} is closed`);
    try {
      await this.connected(this.redis);
      return await command();
    } catch (err) {
      throw new Error(`the approval store at ${this.where} is unreachable: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
    }
  }

  /** Resolves once `client` is ready; rejects after timeoutMs (also after shutdown). Concurrent callers share one wait. */
  private connected(client: Redis): Promise<void> {
    if (client.status === 'ready') return Promise.resolve();
    if (client.status === 'wait') client.connect().catch(() => {});
    let waiting = this.connecting.get(client);
    if (waiting) return waiting;
    waiting = new Promise<void>((resolve, reject) => {
      const done = (err?: Error) => {
        clearTimeout(timer);
        client.off('ready', onReady);
        this.connecting.delete(client);
        if (err) reject(err);
        else resolve();
      };
      const onReady = () => done();
      const timer = setTimeout(() => done(new Error(`no connection within ${this.timeoutMs} ms (${this.errors.get(client) ?? 'no answer'})`)), this.timeoutMs);
      client.on('ready', onReady);
    });
    this.connecting.set(client, waiting);
    return waiting;
  }

  /** Either connection ready again: decisions published meanwhile are read from their keys. */
  private up(client: Redis): void {
    this.errors.delete(client);
    if (this.errors.size === 0 && this.outageLogged) {
      this.outageLogged = false;
      this.log.info('approval store reachable again', { store: 'redis', url: this.where });
    }
    // The subscriber rechecks only once subscribed again, else a decision could fall between the read and the subscription.
    const settled = client === this.sub ? this.listen().catch(() => {}) : Promise.resolve();
    void settled.then(() => {
      for (const id of this.waiters.keys()) void this.check(id);
    });
  }

  private down(client: Redis, error: string): void {
    if (this.closed) return;
    this.errors.set(client, error);
    if (this.outageLogged) return;
    // Once per outage: ioredis reports every failed reconnect attempt.
    this.outageLogged = true;
    this.log.warn('approval store unreachable', { store: 'redis', url: this.where, error });
  }
}

/** A damaged value reads as absent: no approval, no decision, no grant. */
function parse<T>(value: string | null | undefined): T | undefined {
  try {
    return value === null || value === undefined ? undefined : (JSON.parse(value) as T);
  } catch {
    return undefined;
  }
}

/** QUIT is bounded by the command timeout; a client that never connected, or is reconnecting, just drops. */
async function quit(client: Redis): Promise<void> {
  if (client.status === 'wait' || client.status === 'end') return client.disconnect();
  await client.quit().catch(() => client.disconnect());
}
