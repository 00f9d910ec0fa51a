/**
 * validate-arguments: a tools/call's forwarded arguments checked against the
 * tool's (approved) input schema before policy — "warn" records the problems
 * and lets the call on, "enforce" refuses it (ARGUMENTS_INVALID), "off" and
 * every other method do nothing.
 */
import type { Tool } from '@modelcontextprotocol/client';
import { describe, expect, it } from 'vitest';
import { Catalog } from '../../../src/catalog/catalog.js';
import type { ServerPinning } from '../../../src/config/schema/contracts.js';
import { contractOf, hashFields } from '../../../src/contracts/contract.js';
import { ContractGuard, type ContractSettings } from '../../../src/contracts/guard.js';
import { emptyLock, type Lock, withEntry } from '../../../src/contracts/lock.js';
import { GatewayError } from '../../../src/core/errors.js';
import type { CallContext, RoutedMethod } from '../../../src/pipeline/context.js';
import { resolveRoute } from '../../../src/pipeline/resolve-route.js';
import { validateArguments } from '../../../src/pipeline/validate-arguments.js';
import { context, upstream } from './helpers.js';

const WRITE_FILE: Tool = {
  name: 'write_file',
  description: 'Writes a file.',
  inputSchema: {
    type: 'object',
    properties: { path: { type: 'string' }, content: { type: 'string' }, mode: { type: 'string', enum: ['overwrite', 'append'] } },
    required: ['path', 'content'],
    additionalProperties: false,
  },
  annotations: { destructiveHint: true },
};

const ENFORCE: ServerPinning = { mode: 'enforce', onNew: 'quarantine', onChanged: 'quarantine' };

function lockWith(tool: Tool): Lock {
  const c = contractOf('tool', 'fs', tool as unknown as Record<string, unknown>)!;
  return withEntry(emptyLock(), 'fs', 'tool', c.name, { hash: hashFields(c.fields), contract: c.fields });
}

/** A catalog over one server `fs` serving `tools`, a guard validating in `mode`, and the stage with what it counted. */
function setup(
  mode: ContractSettings['validateArguments'] | 'no guard',
  tools: Tool[] = [WRITE_FILE],
  pinning: ServerPinning = ENFORCE,
  lock: Lock = lockWith(WRITE_FILE),
) {
  const fs = upstream('fs', { tools });
  fs.config.pinning = pinning;
  const guard = mode === 'no guard' ? undefined : new ContractGuard({ scan: { mode: 'off', severity: 'high' }, validateArguments: mode }, lock, () => {});
  const catalog = new Catalog([fs], '__', guard);
  const counts: [string, 'refused' | 'warned'][] = [];
  const stage = validateArguments(catalog, (server, outcome) => counts.push([server, outcome]));
  const route = resolveRoute(catalog);
  /** A routed context, as the stage sees it after resolve-route. */
  const routed = (method: RoutedMethod, params: Record<string, unknown>): CallContext => {
    const ctx = context(method, params);
    route.run(ctx);
    return ctx;
  };
  return { fs, catalog, stage, counts, routed };
}

function refusal(run: () => void): GatewayError {
  let caught: unknown;
  try {
    run();
  } catch (err) {
    caught = err;
  }
  expect(caught).toBeInstanceOf(GatewayError);
  return caught as GatewayError;
}

const call = (args?: Record<string, unknown>) => ({ name: 'fs__write_file', ...(args === undefined ? {} : { arguments: args }) });

describe('validate-arguments', () => {
  it('is named for the pipeline', () => {
    expect(setup('enforce').stage.name).toBe('validate-arguments');
  });

  it('enforce: passes arguments that match the approved schema', () => {
    const { stage, counts, routed } = setup('enforce');
    const ctx = routed('tools/call', call({ path: '/a', content: 'x', mode: 'append' }));
    stage.run(ctx);
    expect(ctx.argumentProblems).toBeUndefined();
    expect(counts).toEqual([]);
  });

  it('enforce: refuses a mismatch with ARGUMENTS_INVALID (-32602), naming the tool and the problems, and counts it', () => {
    const { stage, counts, routed } = setup('enforce');
    const ctx = routed('tools/call', call({ path: 42, content: 'x' }));
    const err = refusal(() => stage.run(ctx));
    expect(err.code).toBe('ARGUMENTS_INVALID');
    expect(err.jsonRpcCode).toBe(-32602);
    expect(err.data).toEqual({ server: 'fs', tool: 'fs__write_file', problems: [{ path: '/path', message: 'must be string' }] });
    expect(err.message).toBe('Invalid arguments for fs__write_file: /path must be string');
    expect(counts).toEqual([['fs', 'refused']]);
    expect(ctx.argumentProblems).toBeUndefined();
  });

  it.each([
    ['an extra property', { path: '/a', content: 'x', force: true }, { path: '', message: 'must not have property "force"' }],
    ['a missing property', { path: '/a' }, { path: '', message: 'must have property "content"' }],
    ['a value outside the enum', { path: '/a', content: 'x', mode: 'truncate' }, { path: '/mode', message: 'must be equal to one of the allowed values' }],
  ])('enforce: refuses %s', (_what, args, problem) => {
    const { stage, routed } = setup('enforce');
    expect(refusal(() => stage.run(routed('tools/call', call(args)))).data.problems).toEqual([problem]);
  });

  it('enforce: a call without arguments is validated as {}', () => {
    const { stage, routed } = setup('enforce');
    const err = refusal(() => stage.run(routed('tools/call', call())));
    expect(err.data.problems).toEqual([{ path: '', message: 'must have property "path"' }]);
    expect(err.message).toContain('(arguments) must have property "path"');
  });

  it('warn: lets the call on, records the problems on the context and counts it', () => {
    const { stage, counts, routed } = setup('warn');
    const ctx = routed('tools/call', call({ path: ['/a'], content: 'x' }));
    expect(() => stage.run(ctx)).not.toThrow();
    expect(ctx.argumentProblems).toEqual([{ path: '/path', message: 'must be string' }]);
    expect(counts).toEqual([['fs', 'warned']]);
  });

  it('warn: records nothing for arguments that match', () => {
    const { stage, counts, routed } = setup('warn');
    const ctx = routed('tools/call', call({ path: '/a', content: 'x' }));
    stage.run(ctx);
    expect(ctx.argumentProblems).toBeUndefined();
    expect(counts).toEqual([]);
  });

  it('off: does nothing, whatever the arguments', () => {
    const { stage, counts, routed } = setup('off');
    const ctx = routed('tools/call', call({ path: 42 }));
    stage.run(ctx);
    expect(ctx.argumentProblems).toBeUndefined();
    expect(counts).toEqual([]);
  });

  it('does nothing without a guard (no contract on the target)', () => {
    const { stage, counts, routed } = setup('no guard');
    const ctx = routed('tools/call', call({ path: 42 }));
    expect(ctx.target?.contract).toBeUndefined();
    stage.run(ctx);
    expect(ctx.argumentProblems).toBeUndefined();
    expect(counts).toEqual([]);
  });

  it('does nothing for a tool without an input schema', () => {
    const bare = { name: 'bare' } as Tool;
    const { stage, counts, routed } = setup('enforce', [bare], ENFORCE, lockWith(bare));
    const ctx = routed('tools/call', { name: 'fs__bare', arguments: { anything: 1 } });
    stage.run(ctx);
    expect(counts).toEqual([]);
  });

  it.each([
    ['prompts/get', { name: 'fs__write_file', arguments: { path: 42 } }],
    ['resources/read', { uri: 'file:///x' }],
    ['completion/complete', { ref: { type: 'ref/prompt', name: 'fs__write_file' } }],
  ] as const)('does nothing for %s, even with a tool target and bad arguments', (method, params) => {
    const { stage, counts, routed } = setup('enforce');
    const target = routed('tools/call', call({ path: 42 })).target;
    const ctx = context(method, params, { target, forwarded: { name: 'write_file', arguments: { path: 42 } } });
    expect(() => stage.run(ctx)).not.toThrow();
    expect(ctx.argumentProblems).toBeUndefined();
    expect(counts).toEqual([]);
  });

  it('validates what is forwarded, not the raw params', () => {
    const { stage, counts, routed } = setup('enforce');
    const ctx = routed('tools/call', call({ path: '/a', content: 'x' }));
    ctx.params = { name: 'fs__write_file', arguments: { path: 42 } };
    stage.run(ctx);
    expect(counts).toEqual([]);
  });

  it('validates a changed tool served under onChanged "warn" against its approved schema', () => {
    const narrower: Tool = {
      ...WRITE_FILE,
      inputSchema: { ...WRITE_FILE.inputSchema, properties: { ...WRITE_FILE.inputSchema.properties, path: { type: 'string', maxLength: 2 } } },
    };
    const { stage, catalog, routed } = setup('enforce', [narrower], { ...ENFORCE, onChanged: 'warn' });
    expect(catalog.resolveTool('fs__write_file')?.contract?.status).toBe('changed');
    // The live schema would refuse this path (maxLength 2); the approved one does not.
    expect(() => stage.run(routed('tools/call', call({ path: '/a/long/path', content: 'x' })))).not.toThrow();
    expect(refusal(() => stage.run(routed('tools/call', call({ path: '/a', content: 'x', extra: 1 })))).code).toBe('ARGUMENTS_INVALID');
  });

  it('validates an unpinned (pinning off) tool against its live schema', () => {
    const { stage, routed } = setup('enforce', [WRITE_FILE], { ...ENFORCE, mode: 'off' }, emptyLock());
    expect(refusal(() => stage.run(routed('tools/call', call({ path: 1, content: 'x' })))).data.problems).toEqual([
      { path: '/path', message: 'must be string' },
    ]);
  });

  it('refuses every call to a tool whose schema cannot be compiled', () => {
    const broken = { ...WRITE_FILE, inputSchema: { type: 'object', properties: { path: { type: 'no-such-type' } } } } as Tool;
    const { stage, routed } = setup('enforce', [broken], ENFORCE, lockWith(broken));
    const err = refusal(() => stage.run(routed('tools/call', call({ path: '/a', content: 'x' }))));
    expect(err.data.problems).toEqual([{ path: '', message: expect.stringContaining('cannot be used to validate') }]);
  });
});
