/**
 * Helpers for the fault, fuzz and load tests (test/system/stress/): the faulty HTTP
 * upstream (typed), the HTTP fixture as a child process, process-tree counts,
 * heap measurement, a seeded PRNG and latency statistics. Every wait is
 * bounded and every process started here has a stop that escalates to SIGKILL.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { expect } from 'vitest';
import { FIXTURES, ROOT } from './gateway.js';
import { listProcesses, stopProcess, type ProcessRow } from './processes.js';

export const FAULTY = path.join(ROOT, 'test/fixtures/faulty');
export const STDIO_FIXTURE = path.join(FIXTURES, 'stdio.mjs');
export const HTTP_FIXTURE = path.join(FIXTURES, 'http.mjs');

export type FaultMode = 'ok' | '500' | '404' | 'slow' | 'hang' | 'garbage' | 'reset';

/** Mirrors what test/fixtures/faulty/http-faulty.mjs returns (a .mjs file has no typings here). */
export interface FaultyHttp {
  url: string;
  port: number;
  counts: { requests: number; faulted: number };
  readonly mode: FaultMode;
  setMode(mode: FaultMode, options?: { delayMs?: number; methods?: string[] }): void;
  sessionCount(): number;
  close(): Promise<void>;
}

export async function startFaultyHttp(options: { mode?: FaultMode; delayMs?: number; methods?: string[] } = {}): Promise<FaultyHttp> {
  const mod = (await import(new URL('../fixtures/faulty/http-faulty.mjs', import.meta.url).href)) as {
    startFaultyHttp: (o: typeof options) => Promise<FaultyHttp>;
  };
  return mod.startFaultyHttp(options);
}

/** The in-process kitchen-sink HTTP fixture in any of its modes (`legacy` included). */
export interface InProcessHttpFixture {
  url: string;
  port: number;
  /** The headers of every POST it received (it keeps them all: empty it before measuring the heap). */
  headersSeen: unknown[];
  sessionCount(): number;
  close(): Promise<void>;
}

export async function startHttpFixtureInProcess(mode: 'legacy' | 'sessionful' | 'modern', name?: string): Promise<InProcessHttpFixture> {
  const mod = (await import(new URL('../fixtures/servers/http.mjs', import.meta.url).href)) as {
    startHttpFixture: (o: { mode: string; name?: string; port?: number }) => Promise<InProcessHttpFixture>;
  };
  return mod.startHttpFixture({ mode, name, port: 0 });
}

export interface ChildHttpFixture {
  url: string;
  port: number;
  child: ChildProcess;
  stderr(): string;
  stop(): Promise<void>;
}

/**
 * `node test/fixtures/servers/http.mjs --mode <mode> --port <port>` as its own
 * process (so its CPU is not the test's), resolved once it prints LISTENING.
 */
export async function spawnHttpFixture(mode: 'legacy' | 'sessionful' | 'modern', port = 0, timeoutMs = 15_000): Promise<ChildHttpFixture> {
  const child = spawn(process.execPath, [HTTP_FIXTURE, '--mode', mode, '--port', String(port)], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stderr!.setEncoding('utf8');
  child.stderr!.on('data', (c: string) => (stderr = (stderr + c).slice(-20_000)));
  child.stdout!.setEncoding('utf8');
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => finish(new Error(`http fixture did not print LISTENING within ${timeoutMs} ms; stderr: ${stderr}`)), timeoutMs);
    const onData = (c: string) => {
      stdout += c;
      const m = /LISTENING (\S+)/.exec(stdout);
      if (m) finish(undefined, m[1]);
    };
    const onExit = (code: number | null) => finish(new Error(`http fixture exited (${code}) before listening; stderr: ${stderr}`));
    child.stdout!.on('data', onData);
    child.once('exit', onExit);
    function finish(err?: Error, value?: string) {
      clearTimeout(timer);
      child.stdout!.off('data', onData);
      child.off('exit', onExit);
      if (err) {
        child.kill('SIGKILL');
        reject(err);
      } else resolve(value!);
    }
  });
  // Keep draining stdout so the child never blocks on a full pipe.
  child.stdout!.resume();
  return { url, port: Number(new URL(url).port), child, stderr: () => stderr, stop: () => stopProcess(child) };
}

/** Every live descendant of `pid` (children, grandchildren, …), from one `ps` snapshot. */
export async function descendantsOf(pid: number): Promise<ProcessRow[]> {
  const rows = await listProcesses();
  const byParent = new Map<number, ProcessRow[]>();
  for (const row of rows) {
    if (row.args.startsWith('ps ')) continue;
    const list = byParent.get(row.ppid) ?? [];
    list.push(row);
    byParent.set(row.ppid, list);
  }
  const out: ProcessRow[] = [];
  const queue = [pid];
  while (queue.length > 0) {
    for (const child of byParent.get(queue.shift()!) ?? []) {
      out.push(child);
      queue.push(child.pid);
    }
  }
  return out;
}

/** Live processes (zombies excluded) whose process group is `pgid`. */
export async function groupMembers(pgid: number): Promise<ProcessRow[]> {
  return (await listProcesses()).filter((p) => p.pgid === pgid && !p.args.startsWith('ps ') && !p.args.includes('<defunct>'));
}

/** This test worker's descendants whose command line mentions `needle` (zombies included: they are leaks too). */
export async function myChildrenRunning(needle: string): Promise<ProcessRow[]> {
  return (await descendantsOf(process.pid)).filter((p) => p.args.includes(needle));
}

let gcFn: (() => void) | undefined;
/** Heap used after a full GC, in MiB. */
export function heapAfterGcMb(): number {
  if (!gcFn) {
    setFlagsFromString('--expose-gc');
    gcFn = runInNewContext('gc') as () => void;
  }
  gcFn();
  gcFn();
  return process.memoryUsage().heapUsed / 1024 / 1024;
}

/** mulberry32: a small deterministic PRNG, so a failing fuzz case can be replayed from its seed. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface LatencyStats {
  n: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
  mean: number;
}

export function latencyStats(values: number[]): LatencyStats {
  const a = Float64Array.from(values).sort();
  const n = a.length;
  const at = (q: number) => (n ? a[Math.min(n - 1, Math.floor(q * n))]! : NaN);
  let sum = 0;
  for (const v of a) sum += v;
  return { n, p50: at(0.5), p90: at(0.9), p99: at(0.99), max: n ? a[n - 1]! : NaN, mean: n ? sum / n : NaN };
}

export const fmtMs = (ms: number) => `${ms.toFixed(ms < 10 ? 2 : 1)} ms`;

/** Asserts that `error` is a JSON-RPC error with this `data.code` (and JSON-RPC code, when given). */
export function expectRpcError(error: unknown, dataCode: string, rpcCode?: number, extra: Record<string, unknown> = {}): void {
  const e = error as { code?: unknown; data?: Record<string, unknown>; error?: { code?: unknown; data?: Record<string, unknown> } };
  // An SDK McpError carries code/data itself; a RawSession RpcError carries the wire error object.
  const wire = e?.error ?? e;
  expect(wire, `expected a JSON-RPC error ${dataCode}, got ${String(error)}`).toBeTypeOf('object');
  expect(wire.data, `expected data.code ${dataCode}; got ${String(error)}`).toMatchObject({ code: dataCode, ...extra });
  if (rpcCode !== undefined) expect(wire.code).toBe(rpcCode);
}

/** Resolves with the settled value and how long it took. */
export async function timed<T>(work: Promise<T>): Promise<{ ok: true; value: T; ms: number } | { ok: false; error: unknown; ms: number }> {
  const t0 = performance.now();
  try {
    const value = await work;
    return { ok: true, value, ms: performance.now() - t0 };
  } catch (error) {
    return { ok: false, error, ms: performance.now() - t0 };
  }
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/**
 * Ends a v1 SDK client's session the way a well-behaved client does: DELETE
 * (`terminateSession`), then close. (`Client.close()` alone leaves the
 * session to the idle sweep.)
 */
export async function endSession(client: { transport?: unknown; close(): Promise<void> }): Promise<void> {
  const transport = client.transport as { terminateSession?: () => Promise<void> } | undefined;
  await transport?.terminateSession?.().catch(() => {});
  await client.close().catch(() => {});
}
