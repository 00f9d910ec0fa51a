/**
 * The pipeline runner: stages in order, the terminal last, and every
 * finisher in `finally` for success and failure alike.
 */
import type { Result } from '@modelcontextprotocol/client';
import { describe, expect, it } from 'vitest';
import { GatewayError } from '../../../src/core/errors.js';
import { createLogger } from '../../../src/observability/log.js';
import { authorize } from '../../../src/pipeline/authorize.js';
import { createPipeline, type Finisher, type Stage, type Terminal } from '../../../src/pipeline/chain.js';
import type { CallContext } from '../../../src/pipeline/context.js';
import { rateLimit } from '../../../src/pipeline/rate-limit.js';
import { resolveRoute } from '../../../src/pipeline/resolve-route.js';
import { MemoryRateLimitStore } from '../../../src/ratelimit/store.js';
import { engineOf } from '../policy/helpers.js';
import { context, fleet } from './helpers.js';

const OK: Result = { content: [{ type: 'text', text: 'done' }] };

/** Parts that log what ran, in order, into `calls`. */
function parts(calls: string[], opts: { failAt?: string; error?: unknown; asyncStages?: boolean } = {}) {
  const failing = (name: string) => {
    if (opts.failAt === name) throw opts.error ?? new GatewayError('POLICY_DENIED', `stopped at ${name}`);
  };
  const stage = (name: string): Stage => ({
    name,
    run: opts.asyncStages
      ? async () => {
          await Promise.resolve();
          calls.push(name);
          failing(name);
        }
      : () => {
          calls.push(name);
          failing(name);
        },
  });
  const terminal: Terminal = {
    name: 'forward',
    async run() {
      calls.push('forward');
      failing('forward');
      return OK;
    },
  };
  const finisher = (name: string): Finisher => ({
    name,
    run(ctx) {
      calls.push(`${name}(${ctx.error === undefined ? 'ok' : 'error'})`);
    },
  });
  return { stages: [stage('a'), stage('b'), stage('c')], terminal, finish: [finisher('record'), finisher('measure')] };
}

describe('createPipeline', () => {
  it('runs the stages in order, then the terminal, then the finishers, and returns the result', async () => {
    const calls: string[] = [];
    const ctx = context('tools/call', { name: 'x' });
    await expect(createPipeline(parts(calls))(ctx)).resolves.toBe(OK);
    expect(calls).toEqual(['a', 'b', 'c', 'forward', 'record(ok)', 'measure(ok)']);
    expect(ctx.result).toBe(OK);
    expect(ctx.error).toBeUndefined();
  });

  it('awaits a pending stage before the next one starts', async () => {
    const calls: string[] = [];
    await createPipeline(parts(calls, { asyncStages: true }))(context('tools/call', { name: 'x' }));
    expect(calls).toEqual(['a', 'b', 'c', 'forward', 'record(ok)', 'measure(ok)']);
  });

  it('a stage that throws stops the request: later stages and the terminal do not run, the finishers do', async () => {
    const calls: string[] = [];
    const ctx = context('tools/call', { name: 'x' });
    const err = await createPipeline(parts(calls, { failAt: 'b' }))(ctx).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(GatewayError);
    expect((err as GatewayError).message).toBe('stopped at b');
    expect(calls).toEqual(['a', 'b', 'record(error)', 'measure(error)']);
    expect(ctx.error).toBe(err);
    expect(ctx.result).toBeUndefined();
  });

  it('an async stage that rejects is handled the same way', async () => {
    const calls: string[] = [];
    const ctx = context('tools/call', { name: 'x' });
    await expect(createPipeline(parts(calls, { failAt: 'a', asyncStages: true }))(ctx)).rejects.toThrow('stopped at a');
    expect(calls).toEqual(['a', 'record(error)', 'measure(error)']);
  });

  it('a terminal that fails: the error is noted for the finishers and rethrown unchanged', async () => {
    const calls: string[] = [];
    const upstreamError = new Error('upstream said no');
    const ctx = context('tools/call', { name: 'x' });
    await expect(createPipeline(parts(calls, { failAt: 'forward', error: upstreamError }))(ctx)).rejects.toBe(upstreamError);
    expect(calls).toEqual(['a', 'b', 'c', 'forward', 'record(error)', 'measure(error)']);
    expect(ctx.error).toBe(upstreamError);
  });

  it('a non-Error throw is still recorded as the error', async () => {
    const calls: string[] = [];
    const ctx = context('tools/call', { name: 'x' });
    await expect(createPipeline(parts(calls, { failAt: 'c', error: 'a string' }))(ctx)).rejects.toBe('a string');
    expect(ctx.error).toBe('a string');
    expect(calls.slice(-2)).toEqual(['record(error)', 'measure(error)']);
  });

  it('gives each request an id unless it has one, and keeps one it has', async () => {
    const run = createPipeline(parts([]));
    const fresh = context('tools/call', { name: 'x' });
    const named = context('tools/call', { name: 'x' }, { requestId: 'req-7' });
    const other = context('tools/call', { name: 'x' });
    await run(fresh);
    await run(named);
    await run(other);
    expect(fresh.requestId).toMatch(/^[0-9a-f-]{36}$/);
    expect(named.requestId).toBe('req-7');
    expect(other.requestId).not.toBe(fresh.requestId);
  });

  it('whatever a stage or finisher logs names the request and its session', async () => {
    const lines: Record<string, unknown>[] = [];
    const log = createLogger({ level: 'debug', write: (line) => lines.push(JSON.parse(line) as Record<string, unknown>) });
    const run = createPipeline({
      stages: [{ name: 's', run: async () => log.info('in a stage') }],
      terminal: { name: 't', run: async () => OK },
      finish: [{ name: 'f', run: () => log.info('in a finisher') }],
    });
    await run(context('tools/call', { name: 'x' }, { requestId: 'r1', session: { id: 'S1', transport: 'stdio', era: 'legacy' } }));
    expect(lines.map((l) => [l.msg, l.request, l.session])).toEqual([
      ['in a stage', 'r1', 'S1'],
      ['in a finisher', 'r1', 'S1'],
    ]);
  });

  it('a finisher that throws neither changes the answer nor stops the finishers after it, and is reported', async () => {
    const ran: string[] = [];
    const reported: string[] = [];
    const pipeline = createPipeline({
      stages: [],
      terminal: { name: 'forward', run: async () => OK },
      finish: [
        {
          name: 'record',
          run: () => {
            ran.push('record');
            throw new Error('disk full');
          },
        },
        { name: 'measure', run: () => void ran.push('measure') },
      ],
      onFinisherError: (name, err) => void reported.push(`${name}: ${(err as Error).message}`),
    });
    await expect(pipeline(context('tools/call', { name: 'x' }))).resolves.toBe(OK);
    expect(ran).toEqual(['record', 'measure']);
    expect(reported).toEqual(['record: disk full']);
  });

  it('finishers see what the stages put in the context', async () => {
    let seen: Partial<CallContext> | undefined;
    const run = createPipeline({
      stages: [{ name: 'mark', run: (ctx) => void (ctx.upstreamMs = 12) }],
      terminal: { name: 't', run: async () => OK },
      finish: [{ name: 'look', run: (ctx) => void (seen = { upstreamMs: ctx.upstreamMs, result: ctx.result }) }],
    });
    await run(context('tools/call', { name: 'x' }));
    expect(seen).toEqual({ upstreamMs: 12, result: OK });
  });
});

describe('the real stages in their order', () => {
  it('a denied call spends no token: authorize runs before the rate limit', async () => {
    const { catalog } = fleet();
    const engine = engineOf(`
servers: { github: { rateLimit: [ { limit: 1, per: hour } ] } }
rules: [ { id: no-create, match: { tools: [create_issue] }, effect: deny } ]
`);
    const forwarded: string[] = [];
    const run = createPipeline({
      stages: [resolveRoute(catalog), authorize(() => engine), rateLimit(() => engine, new MemoryRateLimitStore())],
      terminal: {
        name: 'forward',
        async run(ctx) {
          forwarded.push(String(ctx.forwarded?.name));
          return OK;
        },
      },
      finish: [],
    });
    for (let i = 0; i < 3; i++) {
      await expect(run(context('tools/call', { name: 'github__create_issue' }))).rejects.toMatchObject({ code: 'POLICY_DENIED' });
    }
    await expect(run(context('tools/call', { name: 'github__list_issues' }))).resolves.toBe(OK);
    await expect(run(context('tools/call', { name: 'github__list_issues' }))).rejects.toMatchObject({ code: 'RATE_LIMITED' });
    expect(forwarded).toEqual(['list_issues']);
  });

  it('an unknown name is answered before policy is asked', async () => {
    const { catalog } = fleet();
    let asked = 0;
    const run = createPipeline({
      stages: [
        resolveRoute(catalog),
        authorize(() => ({
          decide: () => {
            asked++;
            return { allowed: true, reason: '', trace: [] };
          },
        })),
      ],
      terminal: { name: 'forward', run: async () => OK },
      finish: [],
    });
    const ctx = context('tools/call', { name: 'github__nope' });
    await expect(run(ctx)).rejects.toMatchObject({ code: 'UNKNOWN_TOOL' });
    expect(asked).toBe(0);
    expect(ctx.decision).toBeUndefined();
  });
});
