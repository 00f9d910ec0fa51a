/**
 * The contract steps of `switchboard policy explain`, from the lock alone:
 * the tool's status and what the decision relies on, and whether the
 * arguments pass the approved input schema.
 */
import { describe, expect, it } from 'vitest';
import type { ServerPinning } from '../../../src/config/schema/contracts.js';
import { contractOf, hashFields } from '../../../src/contracts/contract.js';
import { explainArguments, explainContract } from '../../../src/contracts/explain.js';
import { emptyLock, type Lock, withEntry } from '../../../src/contracts/lock.js';

function approve(lock: Lock, server: string, item: Record<string, unknown>): Lock {
  const c = contractOf('tool', server, item)!;
  return withEntry(lock, server, 'tool', c.name, { hash: hashFields(c.fields), contract: c.fields });
}

const WRITE_FILE = {
  name: 'write_file',
  inputSchema: { type: 'object', properties: { path: { type: 'string' } }, required: ['path'], additionalProperties: false },
  annotations: { destructiveHint: true, readOnlyHint: false },
};
const BARE = { name: 'bare', annotations: ['not', 'an', 'object'] };

let LOCK = approve(emptyLock(), 'fs', WRITE_FILE);
LOCK = approve(LOCK, 'fs', BARE);
const HASH = LOCK.servers.fs?.tools.write_file?.hash;

const pinning = (mode: ServerPinning['mode'], onNew: ServerPinning['onNew'] = 'quarantine'): ServerPinning => ({ mode, onNew, onChanged: 'quarantine' });

describe('explainContract', () => {
  it('is unchecked with pinning off, whatever the lock says', () => {
    expect(explainContract(LOCK, pinning('off'), 'fs', 'write_file')).toEqual({ status: 'unchecked' });
    expect(explainContract(undefined, pinning('off'), 'fs', 'anything')).toEqual({ status: 'unchecked' });
  });

  it.each(['warn', 'enforce'] as const)('pinning %s: an approved tool is pinned, relying on its approved annotations', (mode) => {
    expect(explainContract(LOCK, pinning(mode), 'fs', 'write_file')).toEqual({
      status: 'pinned',
      hash: HASH,
      annotations: { destructiveHint: true, readOnlyHint: false },
    });
  });

  it('relies on no annotations when the approved ones are not an object', () => {
    expect(explainContract(LOCK, pinning('enforce'), 'fs', 'bare')).toMatchObject({ status: 'pinned', annotations: {} });
  });

  it.each([
    ['enforce', 'quarantine', { reason: 'new' }],
    ['enforce', 'allow', undefined],
    ['warn', 'quarantine', undefined],
    ['warn', 'allow', undefined],
  ] as const)('pinning %s, onNew %s: a tool not in the lock is new (quarantined: %j)', (mode, onNew, quarantined) => {
    const step = explainContract(LOCK, pinning(mode, onNew), 'fs', 'list_dir');
    expect(step).toEqual({ status: 'new', annotations: {}, ...(quarantined ? { quarantined } : {}) });
  });

  it('is new without a lock, on another server, or under a name that is an Object.prototype member', () => {
    expect(explainContract(undefined, pinning('enforce'), 'fs', 'write_file')).toMatchObject({ status: 'new', quarantined: { reason: 'new' } });
    expect(explainContract(LOCK, pinning('enforce'), 'gh', 'write_file').status).toBe('new');
    for (const name of ['constructor', '__proto__', 'toString']) expect(explainContract(LOCK, pinning('enforce'), 'fs', name).status).toBe('new');
  });
});

describe('explainArguments', () => {
  it('validates against the approved schema and passes good arguments', () => {
    expect(explainArguments(LOCK, 'fs', 'write_file', { path: '/a' }, 'enforce')).toEqual({
      mode: 'enforce',
      schema: 'approved',
      problems: [],
      refused: false,
    });
  });

  it('enforce: problems refuse the call', () => {
    expect(explainArguments(LOCK, 'fs', 'write_file', { path: 42 }, 'enforce')).toEqual({
      mode: 'enforce',
      schema: 'approved',
      problems: [{ path: '/path', message: 'must be string' }],
      refused: true,
    });
  });

  it('warn: problems are listed but the call goes on', () => {
    expect(explainArguments(LOCK, 'fs', 'write_file', { path: '/a', extra: 1 }, 'warn')).toEqual({
      mode: 'warn',
      schema: 'approved',
      problems: [{ path: '', message: 'must not have property "extra"' }],
      refused: false,
    });
  });

  it('off: nothing is validated', () => {
    expect(explainArguments(LOCK, 'fs', 'write_file', { path: 42 }, 'off')).toEqual({ mode: 'off', schema: 'approved', problems: [], refused: false });
  });

  it('there is nothing to validate against without an approved schema', () => {
    for (const [lock, tool] of [
      [undefined, 'write_file'],
      [LOCK, 'list_dir'],
      [LOCK, 'bare'],
    ] as const) {
      expect(explainArguments(lock, 'fs', tool, { path: 42 }, 'enforce')).toEqual({ mode: 'enforce', schema: 'none', problems: [], refused: false });
    }
    expect(explainArguments(undefined, 'fs', 'write_file', {}, 'off')).toEqual({ mode: 'off', schema: 'none', problems: [], refused: false });
  });

  it('missing required arguments are a problem', () => {
    expect(explainArguments(LOCK, 'fs', 'write_file', {}, 'enforce')).toMatchObject({
      problems: [{ path: '', message: 'must have property "path"' }],
      refused: true,
    });
  });
});
