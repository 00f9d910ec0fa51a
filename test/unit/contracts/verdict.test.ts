/**
 * judge: one listed entry against its approved lock entry, its findings and
 * the server's pinning and scan settings — its status, whether and why it is
 * quarantined, and what a decision may rely on.
 */
import { describe, expect, it } from 'vitest';
import type { ServerPinning } from '../../../src/config/schema/contracts.js';
import { contractOf, hashFields, type Contract } from '../../../src/contracts/contract.js';
import type { LockEntry } from '../../../src/contracts/lock.js';
import type { Finding, Severity } from '../../../src/contracts/scan/index.js';
import { judge, type VerdictSettings } from '../../../src/contracts/verdict.js';

const APPROVED_TOOL = {
  name: 'write_file',
  description: 'Writes a file.',
  inputSchema: { type: 'object', properties: { path: { type: 'string' } }, required: ['path'], additionalProperties: false },
  annotations: { readOnlyHint: false, destructiveHint: true },
};

const live = (over: Record<string, unknown> = {}): Contract => contractOf('tool', 'fs', { ...APPROVED_TOOL, ...over })!;
const approvedEntry = (item: Record<string, unknown> = APPROVED_TOOL): LockEntry => {
  const c = contractOf('tool', 'fs', item)!;
  return { hash: hashFields(c.fields), contract: c.fields };
};

const pinning = (mode: ServerPinning['mode'], onNew: ServerPinning['onNew'] = 'quarantine', onChanged: ServerPinning['onChanged'] = 'quarantine') => ({
  mode,
  onNew,
  onChanged,
});

function settings(p: ServerPinning, scan: VerdictSettings['scan'] = { mode: 'off', severity: 'high' }): VerdictSettings {
  return { pinning: p, scan };
}

function finding(severity: Severity, name = 'write_file'): Finding {
  return {
    detector: 'hidden-instruction',
    id: `hidden-instruction:fs:tool:${name}:description:0`,
    severity,
    server: 'fs',
    kind: 'tool',
    name,
    field: 'description',
    span: { start: 0, end: 6, text: 'Ignore' },
    message: 'tells the model to ignore its instructions',
    fix: 'remove it',
  };
}

/** judge with the live contract's own hash. */
function verdictOf(c: Contract, approved: LockEntry | undefined, s: VerdictSettings, findings: Finding[] = []) {
  return judge(c, hashFields(c.fields), approved, findings, s);
}

// A description change: drift that does not widen.
const REWORDED = { description: 'Writes a file to disk.' };
// A new property: drift that widens the input schema.
const WIDER_SCHEMA = {
  inputSchema: { type: 'object', properties: { path: { type: 'string' }, mode: { type: 'string' } }, required: ['path'], additionalProperties: false },
};
// Claims to be read-only now: drift that widens what a policy may trust.
const FLIPPED = { annotations: { readOnlyHint: true, destructiveHint: true } };

describe('judge: pinning off', () => {
  it('is unchecked, relies on the live annotations and schema, and never quarantines for drift', () => {
    const c = live(FLIPPED);
    for (const approved of [undefined, approvedEntry()]) {
      const v = verdictOf(c, approved, settings(pinning('off')));
      expect(v).toMatchObject({ server: 'fs', kind: 'tool', name: 'write_file', status: 'unchecked', drifted: [], widening: [], findings: [] });
      expect(v.hash).toBe(hashFields(c.fields));
      expect(v.annotations).toEqual(FLIPPED.annotations);
      expect(v.inputSchema).toEqual(APPROVED_TOOL.inputSchema);
      expect(v.quarantine).toBeUndefined();
      expect(v.approvedHash).toBeUndefined();
    }
  });

  it('relies on no annotations when the live ones are missing or not an object', () => {
    expect(verdictOf(live({ annotations: undefined }), undefined, settings(pinning('off'))).annotations).toEqual({});
    expect(verdictOf(live({ annotations: ['readOnlyHint'] }), undefined, settings(pinning('off'))).annotations).toEqual({});
    expect(verdictOf(live({ annotations: null }), undefined, settings(pinning('off'))).annotations).toEqual({});
  });
});

describe('judge: new (not in the lock)', () => {
  it.each([
    ['warn', 'allow', undefined],
    ['warn', 'quarantine', undefined],
    ['enforce', 'allow', undefined],
    ['enforce', 'quarantine', { reason: 'new', drifted: [] }],
  ] as const)('pinning %s, onNew %s: quarantine %j', (mode, onNew, quarantine) => {
    const v = verdictOf(live(FLIPPED), undefined, settings(pinning(mode, onNew)));
    expect(v.status).toBe('new');
    expect(v.quarantine).toEqual(quarantine);
    // Nobody approved its annotations: a decision relies on none of them.
    expect(v.annotations).toEqual({});
    // There is no approved schema: arguments are checked against the live one.
    expect(v.inputSchema).toEqual(APPROVED_TOOL.inputSchema);
    expect(v.approvedHash).toBeUndefined();
  });
});

describe('judge: pinned (hash matches the lock)', () => {
  it.each([
    ['warn', 'quarantine'],
    ['enforce', 'quarantine'],
    ['enforce', 'warn'],
  ] as const)('pinning %s, onChanged %s: served with the approved annotations and schema', (mode, onChanged) => {
    const approved = approvedEntry();
    const v = verdictOf(live(), approved, settings(pinning(mode, 'quarantine', onChanged)));
    expect(v).toMatchObject({ status: 'pinned', approvedHash: approved.hash, hash: approved.hash, drifted: [], widening: [] });
    expect(v.quarantine).toBeUndefined();
    expect(v.diff).toBeUndefined();
    expect(v.annotations).toEqual(APPROVED_TOOL.annotations);
    expect(v.inputSchema).toEqual(APPROVED_TOOL.inputSchema);
  });

  it('relies on no annotations when the approved contract has none', () => {
    const { annotations: _annotations, ...bare } = APPROVED_TOOL;
    const c = contractOf('tool', 'fs', bare)!;
    const v = verdictOf(c, approvedEntry(bare), settings(pinning('enforce')));
    expect(v.status).toBe('pinned');
    expect(v.annotations).toEqual({});
  });

  it('decides by the hash it is given, not by comparing fields', () => {
    const approved = approvedEntry();
    expect(judge(live(REWORDED), approved.hash, approved, [], settings(pinning('enforce'))).status).toBe('pinned');
    expect(judge(live(), `sha256:${'1'.repeat(64)}`, approved, [], settings(pinning('enforce'))).status).toBe('changed');
  });
});

describe('judge: changed (differs from the lock)', () => {
  it.each([
    ['warn', 'quarantine', undefined],
    ['warn', 'warn', undefined],
    ['enforce', 'warn', undefined],
    ['enforce', 'quarantine', { reason: 'changed', drifted: ['description'] }],
  ] as const)('a change that does not widen, pinning %s, onChanged %s: quarantine %j', (mode, onChanged, quarantine) => {
    const approved = approvedEntry();
    const c = live(REWORDED);
    const v = verdictOf(c, approved, settings(pinning(mode, 'quarantine', onChanged)));
    expect(v.status).toBe('changed');
    expect(v.approvedHash).toBe(approved.hash);
    expect(v.hash).toBe(hashFields(c.fields));
    expect(v.drifted).toEqual(['description']);
    expect(v.widening).toEqual([]);
    expect(v.diff?.widens).toBe(false);
    expect(v.quarantine).toEqual(quarantine);
  });

  it.each([
    ['warn', 'quarantine', undefined],
    ['warn', 'warn', undefined],
    ['enforce', 'warn', { reason: 'widened', drifted: ['inputSchema'] }],
    ['enforce', 'quarantine', { reason: 'changed', drifted: ['inputSchema'] }],
  ] as const)('a widened input schema, pinning %s, onChanged %s: quarantine %j', (mode, onChanged, quarantine) => {
    const v = verdictOf(live(WIDER_SCHEMA), approvedEntry(), settings(pinning(mode, 'quarantine', onChanged)));
    expect(v.status).toBe('changed');
    expect(v.drifted).toEqual(['inputSchema']);
    expect(v.widening).toEqual(['inputSchema: property "mode" added']);
    expect(v.quarantine).toEqual(quarantine);
    // Arguments are still validated against what was approved.
    expect(v.inputSchema).toEqual(APPROVED_TOOL.inputSchema);
  });

  it('an annotation flip to a safer claim is quarantined as widened under onChanged warn, relying on the approved claim', () => {
    const v = verdictOf(live(FLIPPED), approvedEntry(), settings(pinning('enforce', 'quarantine', 'warn')));
    expect(v.status).toBe('changed');
    expect(v.drifted).toEqual(['annotations']);
    expect(v.widening).toEqual(['annotations.readOnlyHint: false → true']);
    expect(v.quarantine).toEqual({ reason: 'widened', drifted: ['annotations'] });
    expect(v.annotations).toEqual({ readOnlyHint: false, destructiveHint: true });
  });

  it('an annotation flip to a riskier claim is served under onChanged warn, still relying on the approved claim', () => {
    const riskier = { annotations: { readOnlyHint: false, destructiveHint: true, openWorldHint: true } };
    const v = verdictOf(live(riskier), approvedEntry(), settings(pinning('enforce', 'quarantine', 'warn')));
    expect(v.widening).toEqual([]);
    expect(v.quarantine).toBeUndefined();
    expect(v.annotations).toEqual(APPROVED_TOOL.annotations);
  });

  it('a served change is validated against the approved schema, not the live one', () => {
    const narrower = {
      inputSchema: { type: 'object', properties: { path: { type: 'string', maxLength: 5 } }, required: ['path'], additionalProperties: false },
    };
    const v = verdictOf(live(narrower), approvedEntry(), settings(pinning('enforce', 'quarantine', 'warn')));
    expect(v.widening).toEqual([]);
    expect(v.quarantine).toBeUndefined();
    expect(v.inputSchema).toEqual(APPROVED_TOOL.inputSchema);
  });

  it('lists every drifted field in contract order, with the diff', () => {
    const v = verdictOf(live({ ...FLIPPED, ...REWORDED, title: 'Write' }), approvedEntry(), settings(pinning('enforce')));
    expect(v.drifted).toEqual(['title', 'description', 'annotations']);
    expect(v.diff?.fields.map((f) => f.field)).toEqual(['title', 'description', 'annotations']);
    expect(v.quarantine).toEqual({ reason: 'changed', drifted: ['title', 'description', 'annotations'] });
  });
});

describe('judge: the poisoning lint', () => {
  const quarantining = (severity: Severity): VerdictSettings['scan'] => ({ mode: 'quarantine', severity });

  it('quarantines an unpinned entry with a finding at or above the severity', () => {
    for (const [p, approved] of [
      [pinning('off'), undefined],
      [pinning('warn'), undefined],
      [pinning('enforce', 'allow'), undefined],
      [pinning('warn'), approvedEntry()],
      [pinning('enforce', 'quarantine', 'warn'), approvedEntry()],
    ] as const) {
      const c = approved ? live(REWORDED) : live();
      const v = verdictOf(c, approved, settings(p, quarantining('high')), [finding('high')]);
      expect(v.quarantine, `${p.mode}/${v.status}`).toEqual({ reason: 'poisoned', drifted: [] });
      expect(v.findings).toEqual([finding('high')]);
    }
  });

  it('never quarantines a pinned entry (it was approved as it is), but keeps its findings', () => {
    const v = verdictOf(live(), approvedEntry(), settings(pinning('enforce'), quarantining('low')), [finding('high')]);
    expect(v.status).toBe('pinned');
    expect(v.quarantine).toBeUndefined();
    expect(v.findings).toEqual([finding('high')]);
  });

  it.each([
    ['low', 'low', true],
    ['medium', 'low', true],
    ['high', 'low', true],
    ['low', 'medium', false],
    ['medium', 'medium', true],
    ['high', 'medium', true],
    ['low', 'high', false],
    ['medium', 'high', false],
    ['high', 'high', true],
  ] as const)('a %s finding with severity %s: poisoned %s', (found, threshold, quarantined) => {
    const v = verdictOf(live(), undefined, settings(pinning('warn'), quarantining(threshold)), [finding(found)]);
    expect(v.quarantine?.reason).toBe(quarantined ? 'poisoned' : undefined);
  });

  it('only reports findings when the lint is in warn mode', () => {
    const v = verdictOf(live(), undefined, settings(pinning('off'), { mode: 'warn', severity: 'low' }), [finding('high')]);
    expect(v.quarantine).toBeUndefined();
    expect(v.findings).toHaveLength(1);
  });

  it('quarantines for nothing without findings', () => {
    expect(verdictOf(live(), undefined, settings(pinning('warn'), quarantining('low'))).quarantine).toBeUndefined();
  });

  it('keeps the first reason when an entry is both new (or changed) and poisoned', () => {
    const s = settings(pinning('enforce'), quarantining('high'));
    expect(verdictOf(live(), undefined, s, [finding('high')]).quarantine?.reason).toBe('new');
    expect(verdictOf(live(REWORDED), approvedEntry(), s, [finding('high')]).quarantine?.reason).toBe('changed');
    const widened = verdictOf(live(WIDER_SCHEMA), approvedEntry(), settings(pinning('enforce', 'quarantine', 'warn'), quarantining('high')), [finding('high')]);
    expect(widened.quarantine?.reason).toBe('widened');
  });
});

describe('judge: prompts and templates', () => {
  it('judges a prompt whose arguments changed, relying on no annotations', () => {
    const approvedPrompt = contractOf('prompt', 'gh', { name: 'triage', arguments: [{ name: 'n', required: true }] })!;
    const entry = { hash: hashFields(approvedPrompt.fields), contract: approvedPrompt.fields };
    const changed = contractOf('prompt', 'gh', { name: 'triage', arguments: [{ name: 'n', required: true }, { name: 'extra' }] })!;
    const v = verdictOf(changed, entry, settings(pinning('enforce', 'quarantine', 'warn')));
    expect(v).toMatchObject({ kind: 'prompt', name: 'triage', status: 'changed', drifted: ['arguments'] });
    expect(v.quarantine?.reason).toBe('widened');
    expect(v.annotations).toEqual({});
    expect(v.inputSchema).toBeUndefined();
  });

  it('names a template verdict by its URI template', () => {
    const c = contractOf('resourceTemplate', 'gh', { uriTemplate: 'repo://{owner}', name: 'repo', annotations: { audience: ['user'] } })!;
    const v = verdictOf(c, undefined, settings(pinning('enforce')));
    expect(v).toMatchObject({ kind: 'resourceTemplate', name: 'repo://{owner}', status: 'new', quarantine: { reason: 'new' } });
  });
});
