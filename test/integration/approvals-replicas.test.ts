/**
 * Approvals across two replicas sharing Redis (gateway.approvals.store):
 * the call waits on replica A while an approver decides in replica B's
 * console, and a yes given on B's approval page is the single-use grant for
 * the caller's retry on A.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashKey } from '../../src/auth/api-keys.js';
import { connectLegacyWithHeaders } from '../helpers/clients.js';
import { FIXTURES, nodeServer, startGateway, type RunningGateway } from '../helpers/gateway.js';
import { startRedis, type RunningRedis } from '../helpers/redis.js';

const POLICY = `
rules:
  - id: add-by-sre
    match: { servers: [ks], tools: [add] }
    effect: approve
    approvers: group:sre
    timeout: 20s
  - id: echo-self
    match: { servers: [ks], tools: [echo] }
    effect: approve
    approvers: self
`;

let dir: string;
let redis: RunningRedis;
let a: RunningGateway;
let b: RunningGateway;
const textOf = (r: unknown) => (r as { content: { text: string }[] }).content[0]!.text;

function config(replicaId: string): Record<string, unknown> {
  return {
    mcpServers: { ks: nodeServer(path.join(FIXTURES, 'stdio.mjs')) },
    gateway: {
      replicaId,
      policies: dir,
      approvals: { store: { type: 'redis', url: redis.url } },
      auth: {
        apiKeys: [
          { id: 'bob', sha256: hashKey('bob-key'), groups: ['dev'] },
          { id: 'sam', sha256: hashKey('sam-key'), groups: ['sre'], scopes: ['switchboard.viewer'] },
        ],
      },
      console: { enabled: true },
    },
  };
}

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'switchboard-approvals-replicas-'));
  writeFileSync(path.join(dir, 'approvals.yaml'), POLICY);
  redis = await startRedis();
  [a, b] = await Promise.all([startGateway(config('a')), startGateway(config('b'))]);
});

afterAll(async () => {
  await Promise.allSettled([a?.close(), b?.close()]);
  await redis?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('approvals shared by two replicas', () => {
  it('the call waits on replica A; an approver grants it in replica B’s console; A forwards it', async () => {
    const bob = await connectLegacyWithHeaders(a.mcpUrl, { 'x-api-key': 'bob-key' });
    try {
      const call = bob.callTool({ name: 'ks__add', arguments: { a: 20, b: 22 } });
      const signIn = await fetch(`${b.url}/console/api/session`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ apiKey: 'sam-key' }),
      });
      const cookie = signIn.headers.get('set-cookie')!.split(';')[0]!;
      const { csrf } = (await signIn.json()) as { csrf: string };
      const inbox = async () =>
        ((await (await fetch(`${b.url}/console/api/approvals`, { headers: { cookie } })).json()) as { approvals: { id: string; mayDecide: boolean }[] })
          .approvals;
      await expect.poll(async () => (await inbox()).length).toBe(1);
      const [pending] = await inbox();
      expect(pending!.mayDecide).toBe(true);
      const granted = await fetch(`${b.url}/console/api/approvals/${pending!.id}`, {
        method: 'POST',
        headers: { cookie, 'x-csrf-token': csrf, 'content-type': 'application/json' },
        body: JSON.stringify({ decision: 'grant' }),
      });
      expect(granted.status).toBe(200);
      expect(textOf(await call)).toBe('42');
      // A wrote the call's record with B's decision; B audited the decision.
      expect(a.audit.filter((r) => r.type === 'audit' && r.name === 'ks__add').at(-1)).toMatchObject({
        outcome: 'ok',
        approval: { by: 'apikey:sam', channel: 'console', id: pending!.id },
      });
      expect(b.audit.filter((r) => r.type === 'approval').at(-1)).toMatchObject({ event: 'granted', approvalId: pending!.id });
      expect(await inbox()).toEqual([]);
    } finally {
      await bob.close();
    }
  });

  it('a yes on B’s approval page is the single-use grant for the retry on A', async () => {
    const bob = await connectLegacyWithHeaders(a.mcpUrl, { 'x-api-key': 'bob-key' });
    try {
      const first = (await bob.callTool({ name: 'ks__echo', arguments: { text: 'shared' } }).catch((e: unknown) => e)) as {
        data: { url: string; code: string };
      };
      expect(first.data.code).toBe('APPROVAL_REQUIRED');
      // The link names A's address; the same id works on B, which shares the store.
      const onB = `${b.url}${new URL(first.data.url).pathname}`;
      const pressed = await fetch(onB, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', origin: b.url, 'sec-fetch-site': 'same-origin' },
        body: 'decision=grant',
      });
      expect(pressed.status).toBe(200);
      expect(textOf(await bob.callTool({ name: 'ks__echo', arguments: { text: 'shared' } }))).toBe('shared');
      const again = (await bob.callTool({ name: 'ks__echo', arguments: { text: 'shared' } }).catch((e: unknown) => e)) as { data: { code: string } };
      expect(again.data.code).toBe('APPROVAL_REQUIRED');
    } finally {
      await bob.close();
    }
  });
});
