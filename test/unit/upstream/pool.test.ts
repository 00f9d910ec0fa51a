/**
 * ConnectionPool at maxProcesses with isolation "session", on real stdio
 * children (the kitchen-sink fixture) and a fake Date: an idle child of the
 * heaviest principal is stopped for another's session, least recently used
 * first and before the new one starts; busy children and even splits are
 * left alone (UPSTREAM_UNAVAILABLE, maxProcesses); the session that lost its
 * child gets a fresh one on its next call. (Without `sessionBusy` every
 * session counts as busy: nothing is reclaimed, as before.)
 */
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { parseConfig } from '../../../src/config/load.js';
import { GatewayError } from '../../../src/core/errors.js';
import { createLogger } from '../../../src/observability/log.js';
import { ConnectionPool, type SessionRef } from '../../../src/upstream/pool.js';
import { Upstream } from '../../../src/upstream/server.js';
import { FIXTURES, nodeServer } from '../../helpers/gateway.js';

const log = createLogger({ level: 'error', write: () => {} });
const config = parseConfig(
  { mcpServers: { ks: nodeServer(path.join(FIXTURES, 'stdio.mjs')) }, gateway: { servers: { ks: { isolation: 'session', maxProcesses: 2 } } } },
  '<inline>',
).servers[0]!;
const shared = new Upstream(config, log);
const session = (id: string): SessionRef => ({ id, era: 'legacy', transport: 'streamable-http' });

let pool: ConnectionPool;
let busy: Set<string>;
let reclaimed: string[];

function makePool(): ConnectionPool {
  return (pool = new ConnectionPool(
    log,
    () => {},
    () => undefined,
    { sessionBusy: (id) => busy.has(id), onReclaimed: (server) => void reclaimed.push(server) },
  ));
}

/** The session's own child, opened (or found) as a call of `principal` would. */
async function child(id: string, principal: string): Promise<Upstream> {
  return await pool.acquire(shared, session(id), principal);
}

const failure = (promise: Promise<unknown>) =>
  promise.then(
    () => undefined,
    (e: unknown) => e as GatewayError,
  );

beforeEach(() => {
  vi.useFakeTimers({ toFake: ['Date'], now: 1_000_000 });
  busy = new Set();
  reclaimed = [];
});
afterEach(async () => {
  vi.useRealTimers();
  await pool?.closeAll();
});

describe('ConnectionPool at maxProcesses', () => {
  it("stops the heaviest principal's least recently used idle child for another principal's session, before starting the new one", async () => {
    makePool();
    const a1 = await child('a1', 'alice');
    vi.setSystemTime(1_001_000);
    const a2 = await child('a2', 'alice');
    vi.setSystemTime(1_002_000);
    expect(await child('a1', 'alice')).toBe(a1); // a1 used again: a2 is now the least recently used
    const b1 = await child('b1', 'bob');
    expect(b1.state).toBe('ready');
    expect(a2.state).toBe('down');
    expect(a1.state).toBe('ready');
    expect(pool.countsByServer()).toEqual({ ks: 2 });
    expect(reclaimed).toEqual(['ks']);
  });

  it('never stops the child of a session with a call in flight, however long it has been idle before', async () => {
    makePool();
    const a1 = await child('a1', 'alice');
    vi.setSystemTime(1_001_000);
    const a2 = await child('a2', 'alice');
    busy.add('a1'); // the least recently used, but busy: a2's child goes instead
    await child('b1', 'bob');
    expect(a1.state).toBe('ready');
    expect(a2.state).toBe('down');
    // Nothing idle left to take from a holder two ahead: the call fails.
    busy.add('b1');
    const error = await failure(child('c1', 'carol'));
    expect(error).toBeInstanceOf(GatewayError);
    expect(error?.data).toMatchObject({ server: 'ks', reason: 'maxProcesses' });
    expect(reclaimed).toEqual(['ks']);
  });

  it('leaves an even split alone: another principal loses a child only to one holding two fewer', async () => {
    makePool();
    const a1 = await child('a1', 'alice');
    const b1 = await child('b1', 'bob');
    expect((await failure(child('c1', 'carol')))?.data).toMatchObject({ reason: 'maxProcesses' });
    // alice may trade her own idle child for her new session.
    await child('a2', 'alice');
    expect(a1.state).toBe('down');
    expect(b1.state).toBe('ready');
  });

  it('gives the session that lost its child a fresh one on its next call', async () => {
    makePool();
    const a1 = await child('a1', 'alice');
    vi.setSystemTime(1_001_000);
    const a2 = await child('a2', 'alice');
    vi.setSystemTime(1_002_000);
    await child('b1', 'bob'); // a1 is reclaimed
    expect(a1.state).toBe('down');
    vi.setSystemTime(1_003_000);
    // alice holds one child (a2), bob one: a1's new child can only come from alice's own.
    const again = await child('a1', 'alice');
    expect(again).not.toBe(a1);
    expect(again.state).toBe('ready');
    expect(a2.state).toBe('down');
    expect(pool.countsByServer()).toEqual({ ks: 2 });
  });
});
