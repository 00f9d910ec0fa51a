/**
 * Child processes for integration tests: free ports, the reference server in
 * its HTTP modes, the CLI as a user runs it, and process-table lookups.
 * Every wait is bounded; every helper that starts a process has a matching
 * stop that escalates to SIGKILL.
 */
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { createServer, connect } from 'node:net';
import path from 'node:path';
import { EVERYTHING, ROOT } from './gateway.js';

export const CLI = path.join(ROOT, 'bin/switchboard.js');

/** A port that was free a moment ago (listen on 0, read it, close). */
export async function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, host, () => {
      const address = server.address();
      if (address === null || typeof address === 'string') return reject(new Error('no port'));
      server.close(() => resolve(address.port));
    });
  });
}

/** Resolves once something accepts TCP connections on host:port; rejects after timeoutMs or when `alive()` turns false. */
export async function waitForPort(port: number, opts: { host?: string; timeoutMs?: number; alive?: () => boolean } = {}): Promise<void> {
  const { host = '127.0.0.1', timeoutMs = 10_000, alive = () => true } = opts;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const socket = connect({ port, host });
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (ok) return;
    if (!alive()) throw new Error(`process exited before listening on ${host}:${port}`);
    if (Date.now() > deadline) throw new Error(`nothing accepted connections on ${host}:${port} within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Resolves with the exit code (or signal name) once `child` exits, or undefined after timeoutMs. */
export async function waitForExit(child: ChildProcess, timeoutMs: number): Promise<number | string | undefined> {
  if (child.exitCode !== null) return child.exitCode;
  if (child.signalCode !== null) return child.signalCode;
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      child.off('exit', onExit);
      resolve(undefined);
    }, timeoutMs);
    const onExit = (code: number | null, signal: NodeJS.Signals | null) => {
      clearTimeout(timer);
      resolve(code ?? signal ?? undefined);
    };
    child.once('exit', onExit);
  });
}

/** SIGTERM, then SIGKILL after graceMs; resolves once the process is gone (bounded). */
export async function stopProcess(child: ChildProcess | undefined, graceMs = 3_000): Promise<void> {
  if (!child || child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  if ((await waitForExit(child, graceMs)) !== undefined) return;
  child.kill('SIGKILL');
  await waitForExit(child, graceMs);
}

export interface Everything {
  /** `http://127.0.0.1:<port>` */
  base: string;
  port: number;
  child: ChildProcess;
  stderr: () => string;
  stop(): Promise<void>;
}

/**
 * server-everything in `streamableHttp` (`/mcp`) or `sse` (`/sse` + `/message`)
 * mode on a free port, returned once it accepts connections.
 */
export async function startEverything(mode: 'streamableHttp' | 'sse'): Promise<Everything> {
  let lastError: unknown;
  // The port is free when picked but could be taken before the child binds it: retry a couple of times.
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePort();
    const child = spawn(process.execPath, [EVERYTHING, mode], {
      env: { ...process.env, PORT: String(port) },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr!.setEncoding('utf8');
    child.stderr!.on('data', (chunk: string) => (stderr += chunk));
    try {
      await waitForPort(port, { timeoutMs: 15_000, alive: () => child.exitCode === null && child.signalCode === null });
      return { base: `http://127.0.0.1:${port}`, port, child, stderr: () => stderr, stop: () => stopProcess(child) };
    } catch (err) {
      lastError = new Error(`${(err as Error).message}; stderr: ${stderr.slice(-1_000)}`);
      await stopProcess(child);
    }
  }
  throw lastError;
}

/** The environment a user's shell would give the CLI: ours, minus SWITCHBOARD_CONFIG, plus `extra`. */
export function cliEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, ...extra };
  if (!('SWITCHBOARD_CONFIG' in extra)) delete env.SWITCHBOARD_CONFIG;
  // Vitest marks its own workers; the CLI is not one.
  delete env.VITEST;
  delete env.VITEST_WORKER_ID;
  delete env.VITEST_POOL_ID;
  return env;
}

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Runs `node bin/switchboard.js …args` to completion (killed after timeoutMs). */
export async function runCli(args: string[], opts: { cwd: string; env?: NodeJS.ProcessEnv; timeoutMs?: number }): Promise<CliResult> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [CLI, ...args],
      { cwd: opts.cwd, env: opts.env ?? cliEnv(), timeout: opts.timeoutMs ?? 15_000, killSignal: 'SIGKILL', maxBuffer: 10 * 1024 * 1024 },
      (error, stdout, stderr) => {
        const e = error as (Error & { code?: number | string; signal?: NodeJS.Signals }) | null;
        resolve({
          code: e ? (typeof e.code === 'number' ? e.code : null) : 0,
          signal: e?.signal ?? null,
          stdout: String(stdout),
          stderr: String(stderr),
        });
      },
    );
  });
}

export interface RunningCli {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  /** Resolves with the first complete stderr line matching `pattern` (past or future); rejects after timeoutMs or on exit. */
  waitForStderr(pattern: RegExp, timeoutMs?: number): Promise<string>;
  /** The same for stdout. */
  waitForStdout(pattern: RegExp, timeoutMs?: number): Promise<string>;
  stop(): Promise<void>;
}

/** Starts a long-running CLI command (serve, bridge, --stdio). */
export function spawnCli(args: string[], opts: { cwd: string; env?: NodeJS.ProcessEnv }): RunningCli {
  const child = spawn(process.execPath, [CLI, ...args], { cwd: opts.cwd, env: opts.env ?? cliEnv(), stdio: ['pipe', 'pipe', 'pipe'] });
  const text = { stdout: '', stderr: '' };
  const waiters = new Set<() => void>();
  const wake = () => {
    for (const w of [...waiters]) w();
  };
  for (const stream of ['stdout', 'stderr'] as const) {
    child[stream]!.setEncoding('utf8');
    child[stream]!.on('data', (chunk: string) => {
      text[stream] += chunk;
      wake();
    });
  }
  // 'close' (not 'exit'): every byte of stdout and stderr has been read by then.
  let closed = false;
  child.once('close', () => {
    closed = true;
    wake();
  });
  // A write after the child exited must not crash the test run.
  child.stdin!.on('error', () => {});

  const waitFor = (stream: 'stdout' | 'stderr', pattern: RegExp, timeoutMs = 15_000) =>
    new Promise<string>((resolve, reject) => {
      const describe = () => `${stream}: ${text[stream].slice(-2_000)}${stream === 'stdout' ? `\nstderr: ${text.stderr.slice(-2_000)}` : ''}`;
      const timer = setTimeout(() => finish(new Error(`no ${stream} line matching ${pattern} within ${timeoutMs} ms; ${describe()}`)), timeoutMs);
      const check = () => {
        // Complete lines only: a half-written line must not match early.
        const line = text[stream]
          .split('\n')
          .slice(0, -1)
          .find((l) => pattern.test(l));
        if (line !== undefined) return finish(undefined, line);
        if (closed) {
          finish(new Error(`process exited (${child.exitCode ?? child.signalCode}) before printing ${pattern}; ${describe()}`));
        }
      };
      function finish(err?: Error, line?: string) {
        clearTimeout(timer);
        waiters.delete(check);
        if (err) reject(err);
        else resolve(line!);
      }
      waiters.add(check);
      check();
    });

  return {
    child,
    stdout: () => text.stdout,
    stderr: () => text.stderr,
    waitForStderr: (pattern, timeoutMs) => waitFor('stderr', pattern, timeoutMs),
    waitForStdout: (pattern, timeoutMs) => waitFor('stdout', pattern, timeoutMs),
    stop: () => stopProcess(child),
  };
}

export interface ProcessRow {
  pid: number;
  ppid: number;
  pgid: number;
  args: string;
}

/** `ps -eo pid,ppid,pgid,args`, parsed. */
export async function listProcesses(): Promise<ProcessRow[]> {
  const out = await new Promise<string>((resolve, reject) =>
    execFile('ps', ['-eo', 'pid=,ppid=,pgid=,args='], { timeout: 5_000, maxBuffer: 10 * 1024 * 1024 }, (err, stdout) => (err ? reject(err) : resolve(stdout))),
  );
  return out
    .split('\n')
    .map((line) => /^\s*(\d+)\s+(\d+)\s+(\d+)\s+(.*)$/.exec(line))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => ({ pid: Number(m[1]), ppid: Number(m[2]), pgid: Number(m[3]), args: m[4]! }));
}

/** Processes whose command line contains `needle`, excluding `ps` itself. */
export async function processesMatching(needle: string): Promise<ProcessRow[]> {
  return (await listProcesses()).filter((p) => p.args.includes(needle) && !p.args.startsWith('ps '));
}

/** Whether a pid still exists (and is not a zombie we could not reap). */
export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
