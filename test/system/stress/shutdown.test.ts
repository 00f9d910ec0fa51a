/**
 * Graceful shutdown under load (issue 7): the real CLI gets SIGTERM while
 * calls are in flight on a stdio upstream, a stdio upstream behind a shell
 * wrapper and a Streamable HTTP upstream. Calls that can finish within
 * `drainMs` finish; calls that never would fail with UPSTREAM_UNAVAILABLE
 * (`reason: "shutdown"`) once it is over; nothing is left hanging, the exit
 * code is 0, no child process survives, and the HTTP upstream's sessions are
 * ended.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually } from '../../helpers/gateway.js';
import { cliEnv, freePort, pidAlive, spawnCli, waitForExit, type RunningCli } from '../../helpers/processes.js';
import { RawSession, RpcError, textOf } from '../../helpers/raw-mcp.js';
import { descendantsOf, fmtMs, groupMembers, sleep, startHttpFixtureInProcess, STDIO_FIXTURE, type InProcessHttpFixture } from '../../helpers/stress.js';

const DRAIN_MS = 2_000;

type Outcome =
  | { kind: 'result'; text: string | undefined; at: number }
  | { kind: 'rpc-error'; code?: number; data?: Record<string, unknown>; status: number; at: number }
  | { kind: 'network'; message: string; at: number }
  | { kind: 'malformed'; message: string; at: number };

async function outcomeOf(work: Promise<Record<string, unknown>>): Promise<Outcome> {
  try {
    const result = await work;
    return { kind: 'result', text: textOf(result), at: performance.now() };
  } catch (err) {
    const at = performance.now();
    if (err instanceof RpcError) return { kind: 'rpc-error', code: err.error?.code, data: err.error?.data, status: err.status, at };
    const message = (err as Error).message;
    const e = err as NodeJS.ErrnoException;
    // The socket refused or cut after the server stopped accepting: a clean failure for a call that started late.
    if (['ECONNREFUSED', 'ECONNRESET', 'EPIPE'].includes(e.code ?? '') || /socket hang up|aborted/.test(message)) return { kind: 'network', message, at };
    return { kind: 'malformed', message, at };
  }
}

describe('graceful shutdown under load (real CLI, SIGTERM)', () => {
  let dir: string;
  let fixture: InProcessHttpFixture;
  let cli: RunningCli | undefined;
  let base: string;
  const sessions: RawSession[] = [];

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'switchboard-shutdown-'));
    fixture = await startHttpFixtureInProcess('legacy');
    const config = {
      mcpServers: {
        ks: { command: 'node', args: [STDIO_FIXTURE] },
        wrapped: { command: '/bin/sh', args: ['-c', `"${process.execPath}" "${STDIO_FIXTURE}" --name wrapped`] },
        web: { type: 'http', url: fixture.url },
      },
      gateway: { drainMs: DRAIN_MS, audit: { file: path.join(dir, 'audit.log') } },
    };
    writeFileSync(path.join(dir, 'switchboard.json'), JSON.stringify(config));
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    cli = spawnCli(['serve', '--port', String(port)], { cwd: dir, env: cliEnv() });
    await cli.waitForStderr(/upstream web: ready/, 20_000);
    await cli.waitForStderr(/upstream wrapped: ready/, 20_000);
    await cli.waitForStderr(/upstream ks: ready/, 20_000);
  });

  afterAll(async () => {
    await Promise.allSettled(sessions.map((s) => s.close()));
    await cli?.stop();
    await fixture?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('finishes what can finish within drainMs, fails the rest cleanly, exits 0 and leaves no child', async () => {
    const cliPid = cli!.child.pid!;
    for (let i = 0; i < 24; i++) sessions.push(new RawSession(`${base}/mcp`, { timeoutMs: 20_000 }));
    await Promise.all(sessions.map((s) => s.initialize()));
    // Give every session its HTTP upstream session now, so the calls below start at once.
    await Promise.all(sessions.map((s) => s.call('web__echo', { text: 'warm' })));

    const children = await descendantsOf(cliPid);
    const groups = [...new Set(children.map((p) => p.pgid))].filter((g) => g !== cliPid && g !== process.pid);
    expect(children.filter((p) => p.args.includes(STDIO_FIXTURE)).length).toBeGreaterThanOrEqual(2);
    expect(fixture.sessionCount()).toBeGreaterThanOrEqual(24);

    // In flight at SIGTERM: calls that end within drainMs, and calls that never would.
    const finishing = [
      ...sessions.slice(0, 6).map((s) => outcomeOf(s.call('ks__slow', { ms: 1_000 }))),
      ...sessions.slice(6, 9).map((s) => outcomeOf(s.call('wrapped__slow', { ms: 1_000 }))),
      ...sessions.slice(9, 12).map((s) => outcomeOf(s.call('web__slow', { ms: 1_000 }))),
    ];
    const endless = [
      ...sessions.slice(12, 14).map((s) => outcomeOf(s.call('ks__hang'))),
      ...sessions.slice(14, 15).map((s) => outcomeOf(s.call('wrapped__hang'))),
      ...sessions.slice(15, 17).map((s) => outcomeOf(s.call('web__hang'))),
    ];
    // And a steady stream of quick calls that keeps going through the signal.
    let looping = true;
    const loops = sessions.slice(17).map(async (s, li) => {
      const outcomes: { outcome: Outcome; sentAt: number; expected: string }[] = [];
      for (let i = 0; looping && i < 10_000; i++) {
        const server = ['ks', 'wrapped', 'web'][(li + i) % 3]!;
        const expected = `loop-${li}-${i}`;
        const sentAt = performance.now();
        const outcome = await outcomeOf(s.call(`${server}__echo`, { text: expected }));
        outcomes.push({ outcome, sentAt, expected });
        if (outcome.kind === 'network') break; // the gateway is gone: stop, as a client would
      }
      return outcomes;
    });

    await sleep(400);
    const signalledAt = performance.now();
    cli!.child.kill('SIGTERM');

    const [done, failed] = [await Promise.all(finishing), await Promise.all(endless)];
    looping = false;
    const loopOutcomes = (await Promise.all(loops)).flat();
    const code = await waitForExit(cli!.child, DRAIN_MS + 10_000);
    const exitedAt = performance.now();
    const lastAnswer = Math.max(...[...done, ...failed].map((o) => o.at));
    console.log(
      `[shutdown] SIGTERM → last in-flight answer ${fmtMs(lastAnswer - signalledAt)}, exit ${fmtMs(exitedAt - signalledAt)} (drainMs ${DRAIN_MS}); ` +
        `loop calls: ${loopOutcomes.length} (${loopOutcomes.filter((o) => o.outcome.kind === 'result').length} answered, ` +
        `${loopOutcomes.filter((o) => o.outcome.kind === 'rpc-error').length} JSON-RPC errors, ${loopOutcomes.filter((o) => o.outcome.kind === 'network').length} refused)`,
    );

    const afterSignal = loopOutcomes.filter((o) => o.sentAt > signalledAt);
    console.log(
      `[shutdown] quick calls sent after SIGTERM: ${afterSignal.length}; answered ${afterSignal.filter((o) => o.outcome.kind === 'result').length}; ` +
        `errors: ${JSON.stringify([...new Set(afterSignal.filter((o) => o.outcome.kind !== 'result').map((o) => (o.outcome.kind === 'rpc-error' ? `${o.outcome.status} ${String(o.outcome.data?.code ?? o.outcome.code)}` : o.outcome.kind)))])}`,
    );
    // Calls that could finish, finished.
    expect(done.map((o) => (o.kind === 'result' ? o.text : JSON.stringify(o)))).toEqual(Array(done.length).fill('done'));
    // Calls that could not were failed with the documented error once drainMs was over, not left hanging.
    for (const o of failed) {
      expect(o.kind, JSON.stringify(o)).toBe('rpc-error');
      if (o.kind === 'rpc-error') expect(o.data).toMatchObject({ code: 'UPSTREAM_UNAVAILABLE', reason: 'shutdown' });
      expect(o.at - signalledAt).toBeGreaterThanOrEqual(DRAIN_MS - 100);
      expect(o.at - signalledAt).toBeLessThan(DRAIN_MS + 3_000);
    }
    // Quick calls: each one answered (with its own text) or failed cleanly; none malformed, none mismatched.
    for (const { outcome, expected } of loopOutcomes) {
      expect(outcome.kind, JSON.stringify(outcome)).not.toBe('malformed');
      if (outcome.kind === 'result') expect(outcome.text).toBe(expected);
    }
    // A call sent well before the signal was answered, not cut.
    const early = loopOutcomes.filter((o) => o.sentAt < signalledAt - 200);
    expect(early.length).toBeGreaterThan(0);
    expect(early.filter((o) => o.outcome.kind !== 'result').map((o) => o.outcome)).toEqual([]);

    expect(code).toBe(0);
    expect(exitedAt - signalledAt).toBeLessThan(DRAIN_MS + 8_000);
    // No child, grandchild (behind /bin/sh) or process group member left.
    await eventually(
      () => children.filter((p) => pidAlive(p.pid)).map((p) => `${p.pid} ${p.args}`),
      (left) => left.length === 0,
      5_000,
    );
    for (const g of groups) expect(await groupMembers(g)).toEqual([]);
    // The HTTP upstream's sessions were ended, not abandoned.
    await eventually(
      () => fixture.sessionCount(),
      (n) => n === 0,
      5_000,
    );
    sessions.splice(0);
  });
});
