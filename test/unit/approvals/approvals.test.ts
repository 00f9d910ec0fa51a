/**
 * The approvals core without a gateway: who may decide through which
 * channel, the bounds on pending approvals, the first decision winning, the
 * single-use grant a detached yes leaves, and the digest binding.
 */
import { describe, expect, it } from 'vitest';
import { Approvals, type ApprovalAsk } from '../../../src/approvals/approvals.js';
import { mayDecide } from '../../../src/approvals/approvers.js';
import { ApprovalStoreFull, MAX_PENDING_PER_PRINCIPAL, MemoryApprovalStore } from '../../../src/approvals/memory-store.js';
import type { PendingApproval } from '../../../src/approvals/types.js';

const ask = (over: Partial<ApprovalAsk> = {}): ApprovalAsk => ({
  principal: 'apikey:bob',
  sessionId: 's1',
  server: 'ks',
  tool: 'add',
  exposed: 'ks__add',
  arguments: { a: 1, b: 2 },
  policyVersion: 'v1',
  ruleId: 'r',
  approvers: [{ kind: 'group', name: 'sre' }],
  message: 'Add?',
  timeoutMs: 60_000,
  ...over,
});

function approvalsWith(store = new MemoryApprovalStore()) {
  const events: string[] = [];
  const approvals = new Approvals({
    store,
    publicUrl: () => 'http://gw',
    events: {
      requested: (a) => events.push(`requested ${a.exposed}`),
      decided: (_a, d) => events.push(`${d.outcome} by ${d.by}`),
      expired: () => events.push('expired'),
      settled: () => events.push('settled'),
      remembered: () => events.push('remembered'),
    },
  });
  return { approvals, events, store };
}

describe('who may decide', () => {
  const pending = (approvers: PendingApproval['approvers']) => ({ principal: 'apikey:bob', approvers }) as PendingApproval;

  it('in the console: a named principal or a group member, never the caller', () => {
    const sre = pending([
      { kind: 'group', name: 'sre' },
      { kind: 'principal', id: 'apikey:lead' },
    ]);
    expect(mayDecide(sre, { id: 'apikey:sam', groups: ['sre'] }, 'console').ok).toBe(true);
    expect(mayDecide(sre, { id: 'apikey:lead', groups: [] }, 'console').ok).toBe(true);
    expect(mayDecide(sre, { id: 'apikey:eve', groups: ['dev'] }, 'console')).toEqual({ ok: false, why: 'apikey:eve is not an approver of this call' });
    expect(mayDecide(sre, { id: 'apikey:bob', groups: ['sre'] }, 'console')).toEqual({ ok: false, why: 'nobody approves their own call in the console' });
  });

  it('through the client or the page: only the caller, and only where the rule names self', () => {
    expect(mayDecide(pending([{ kind: 'self' }]), { id: 'apikey:bob', groups: [] }, 'elicitation').ok).toBe(true);
    expect(mayDecide(pending([{ kind: 'group', name: 'sre' }]), { id: 'apikey:bob', groups: ['sre'] }, 'url').ok).toBe(false);
    expect(mayDecide(pending([{ kind: 'self' }]), { id: 'apikey:sam', groups: [] }, 'elicitation').ok).toBe(false);
  });
});

describe('Approvals', () => {
  it('binds the digest to the caller, the tool, the exact arguments and the policy version', () => {
    const { approvals } = approvalsWith();
    const base = approvals.digestOf(ask());
    expect(approvals.digestOf(ask({ arguments: { b: 2, a: 1 } }))).toBe(base);
    for (const other of [ask({ arguments: { a: '1', b: 2 } }), ask({ principal: 'apikey:eve' }), ask({ tool: 'sub' }), ask({ policyVersion: 'v2' })]) {
      expect(approvals.digestOf(other)).not.toBe(base);
    }
  });

  it('the first decision wins; a second is 409 and an unknown id 404', async () => {
    const { approvals, events } = approvalsWith();
    const a = await approvals.open(ask());
    expect(a.id).toMatch(/^[\w-]{32}$/);
    expect(await approvals.decide(a.id, 'granted', { id: 'apikey:sam', groups: ['sre'] }, 'console')).toMatchObject({ ok: true });
    expect(await approvals.decide(a.id, 'declined', { id: 'apikey:tom', groups: ['sre'] }, 'console')).toMatchObject({ ok: false, status: 409 });
    expect(await approvals.decide('nope', 'granted', { id: 'apikey:sam', groups: ['sre'] }, 'console')).toMatchObject({ ok: false, status: 404 });
    const decision = await approvals.wait(a, new AbortController().signal);
    expect(decision).toMatchObject({ outcome: 'granted', by: 'apikey:sam', channel: 'console' });
    expect(events).toEqual(['requested ks__add', 'granted by apikey:sam', 'settled']);
  });

  it('a detached yes is a single-use grant for the same call only', async () => {
    const { approvals } = approvalsWith();
    const a = await approvals.open(ask({ approvers: [{ kind: 'self' }], detached: true }));
    await approvals.decide(a.id, 'granted', { id: 'apikey:bob', groups: [] }, 'url');
    expect(await approvals.grantFor(ask({ arguments: { a: 1, b: 3 } }), { kind: 'none' })).toBeUndefined();
    expect(await approvals.grantFor(ask(), { kind: 'none' })).toMatchObject({ outcome: 'granted', channel: 'url' });
    expect(await approvals.grantFor(ask(), { kind: 'none' })).toBeUndefined();
  });

  it('a caller holds at most a few pending approvals; others are unaffected', async () => {
    const { approvals } = approvalsWith();
    for (let i = 0; i < MAX_PENDING_PER_PRINCIPAL; i++) await approvals.open(ask({ arguments: { i } }));
    await expect(approvals.open(ask({ arguments: { i: 'one more' } }))).rejects.toBeInstanceOf(ApprovalStoreFull);
    await expect(approvals.open(ask({ principal: 'apikey:other' }))).resolves.toMatchObject({ principal: 'apikey:other' });
  });

  it('waiting ends at the expiry or when the call gives up, reported as expired', async () => {
    const { approvals, events } = approvalsWith();
    const a = await approvals.open(ask({ timeoutMs: 20 }));
    expect(await approvals.wait(a, new AbortController().signal)).toBeUndefined();
    const b = await approvals.open(ask({ arguments: { x: 1 } }));
    const giveUp = new AbortController();
    const waiting = approvals.wait(b, giveUp.signal);
    giveUp.abort();
    expect(await waiting).toBeUndefined();
    expect(await approvals.pending()).toEqual([]);
    expect(events.filter((e) => e === 'expired')).toHaveLength(2);
  });
});
