// Processes the benchmark starts: each in its own process group, logs to a
// file, readiness awaited with a deadline, killed as a group (plus any
// descendant that moved to its own group, as the gateway's stdio children do),
// also when the benchmark fails or is interrupted.
import { spawn } from 'node:child_process';
import { openSync, closeSync, readFileSync, readdirSync } from 'node:fs';
import net from 'node:net';
import http from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';

const CLOCK_TICKS_PER_SEC = 100; // getconf CLK_TCK on Linux
const started = new Set();

/** Spawns `command args` detached (own process group), stdout+stderr to `logFile`. */
export function startProcess({ name, command, args, env, cwd, logFile }) {
  const fd = openSync(logFile, 'a');
  const child = spawn(command, args, { cwd, env: env ?? process.env, stdio: ['ignore', fd, fd], detached: true });
  closeSync(fd);
  const proc = { name, child, pid: child.pid, logFile, exited: false, exitCode: null };
  child.on('exit', (code, signal) => {
    proc.exited = true;
    proc.exitCode = code ?? signal;
  });
  child.on('error', () => {
    proc.exited = true;
  });
  started.add(proc);
  return proc;
}

export function readLog(proc) {
  try {
    return readFileSync(proc.logFile, 'utf8');
  } catch {
    return '';
  }
}

/** Polls the process's log until `regex` matches (returns the match), with a deadline. */
export async function waitForLog(proc, regex, timeoutMs = 30_000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const m = readLog(proc).match(regex);
    if (m) return m;
    if (proc.exited) throw new Error(`${proc.name} exited (${proc.exitCode}) before ready; log: ${tail(readLog(proc))}`);
    await sleep(50);
  }
  throw new Error(`${proc.name} not ready within ${timeoutMs} ms; log: ${tail(readLog(proc))}`);
}

/** The last `lines` non-empty lines of a log, on one line (for error messages and "not run" reasons). */
export function tail(text, lines = 3) {
  return text
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean)
    .slice(-lines)
    .join(' | ')
    .slice(0, 600);
}

/** GET a URL on loopback; resolves { status, text }. */
export function httpGet(url, timeoutMs = 2000) {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { timeout: timeoutMs, agent: false }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode, text }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
  });
}

/** Waits until the gateway's /readyz reports every enabled upstream ready. */
export async function waitGatewayReady(proc, baseUrl, timeoutMs = 60_000) {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < deadline) {
    if (proc.exited) throw new Error(`${proc.name} exited (${proc.exitCode}); log: ${tail(readLog(proc))}`);
    try {
      const { text } = await httpGet(`${baseUrl}/readyz`);
      last = text;
      const body = JSON.parse(text);
      if (body.total > 0 && body.ready === body.total) return body;
    } catch {}
    await sleep(100);
  }
  throw new Error(`${proc.name}: upstreams not ready within ${timeoutMs} ms: ${last.slice(0, 500)}`);
}

/** Waits until something accepts TCP connections on 127.0.0.1:port. */
export async function waitForPort(proc, port, timeoutMs = 30_000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (proc.exited) throw new Error(`${proc.name} exited (${proc.exitCode}); log: ${tail(readLog(proc))}`);
    const ok = await new Promise((resolve) => {
      const s = net.connect({ host: '127.0.0.1', port }, () => {
        s.destroy();
        resolve(true);
      });
      s.on('error', () => resolve(false));
    });
    if (ok) return;
    await sleep(50);
  }
  throw new Error(`${proc.name}: port ${port} not open within ${timeoutMs} ms; log: ${tail(readLog(proc))}`);
}

export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

/** pid → { ppid, pgid, cpuTicks } for every process. */
function processTable() {
  const table = new Map();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      // Fields after the ")" of the command name: state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      table.set(Number(entry), { ppid: Number(f[1]), pgid: Number(f[2]), cpuTicks: Number(f[11]) + Number(f[12]), start: f[19] });
    } catch {}
  }
  return table;
}

/** The pid and every live descendant of it. */
export function descendants(rootPid, table = processTable()) {
  const children = new Map();
  for (const [pid, p] of table) {
    if (!children.has(p.ppid)) children.set(p.ppid, []);
    children.get(p.ppid).push(pid);
  }
  const out = [];
  const stack = [rootPid];
  while (stack.length) {
    const pid = stack.pop();
    if (!table.has(pid)) continue;
    out.push(pid);
    stack.push(...(children.get(pid) ?? []));
  }
  return out;
}

/** CPU time (user+system, ms) of a process and its live descendants. */
export function treeCpuMs(rootPid) {
  const table = processTable();
  let ticks = 0;
  for (const pid of descendants(rootPid, table)) ticks += table.get(pid).cpuTicks;
  return (ticks * 1000) / CLOCK_TICKS_PER_SEC;
}

/** VmRSS / VmHWM of one process, in KB. */
export function memoryKb(pid) {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (key) => Number(status.match(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm'))?.[1]);
  return { rssKb: kb('VmRSS'), hwmKb: kb('VmHWM') };
}

function killQuietly(pid, signal) {
  try {
    process.kill(pid, signal);
  } catch {}
}

/** SIGKILL the pids of `tree` that are still the same processes (same start time), and their groups. */
function killTree(tree, table) {
  const now = processTable();
  for (const pid of tree) {
    const then = table.get(pid);
    const cur = now.get(pid);
    if (!then || !cur || cur.start !== then.start) continue; // gone, or the pid was reused
    if (tree.includes(cur.pgid)) killQuietly(-cur.pgid, 'SIGKILL');
    if (pid !== process.pid) killQuietly(pid, 'SIGKILL');
  }
}

/**
 * SIGTERM the process group (the gateway then stops its own children), wait up
 * to `graceMs`, then SIGKILL the group and any descendant still alive.
 */
export async function stopProcess(proc, graceMs = 5000) {
  if (!started.has(proc)) return;
  const table = processTable();
  const tree = descendants(proc.pid, table);
  if (!proc.exited) {
    killQuietly(-proc.pid, 'SIGTERM');
    const deadline = Date.now() + graceMs;
    while (!proc.exited && Date.now() < deadline) await sleep(25);
  }
  if (!proc.exited) killQuietly(-proc.pid, 'SIGKILL');
  // Children in their own groups (the gateway's stdio upstreams) if the parent did not stop them.
  await sleep(50);
  killTree(
    tree.filter((pid) => pid !== proc.pid),
    table,
  );
  started.delete(proc);
}

export async function stopAll() {
  await Promise.all([...started].map((p) => stopProcess(p)));
}

/** Last resort on exit: no waiting possible, SIGKILL every group we started and their descendants. */
export function killAllNow() {
  let table;
  try {
    table = processTable();
  } catch {
    table = new Map();
  }
  for (const proc of started) {
    const tree = descendants(proc.pid, table);
    if (!proc.exited) killQuietly(-proc.pid, 'SIGKILL');
    killTree(tree, table);
  }
  started.clear();
}

/** CPU time (user+system, ms) of one process alone. */
export function pidCpuMs(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(f[11]) + Number(f[12])) * 1000) / CLOCK_TICKS_PER_SEC;
  } catch {
    return NaN;
  }
}
