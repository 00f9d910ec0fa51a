/**
 * Memory under hostile upstreams and slow clients, measured on the real CLI
 * (`node bin/switchboard.js`, one fresh process per case so each peak is its
 * own): the peak RSS (VmHWM in /proc) while an upstream writes 40 MiB of
 * stderr without a newline, and while a client stops reading a call that
 * streams 128 MiB of log notifications. Meanwhile another client keeps
 * calling; its latency is printed. Before the bounds the two cases peaked at
 * 620-720 MiB and 360-380 MiB of RSS (from ~115 MiB idle), and the stderr
 * flood held the other client up for seconds; with them, at ~135 and ~145 MiB.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { eventually, FIXTURES } from '../../helpers/gateway.js';
import { cliEnv, freePort, spawnCli, type RunningCli } from '../../helpers/processes.js';
import { ACCEPT, PROTOCOL_VERSION, RawSession, textOf } from '../../helpers/raw-mcp.js';
import { fmtMs, latencyStats } from '../../helpers/stress.js';

const HOSTILE = path.join(FIXTURES, 'hostile.mjs');
/** Peak RSS allowed: the idle gateway (~90 MiB here) plus the per-stream bound and some slack. */
const MAX_PEAK_RSS_MIB = 200;

/** VmRSS or VmHWM (peak) of a process, in MiB. */
function rssMib(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8')
    .split('\n')
    .find((l) => l.startsWith(`${field}:`));
  return Number(line?.split(/\s+/)[1]) / 1024;
}

/** Sum of one counter's samples over all label sets that contain `labels`. */
async function counter(base: string, name: string, labels: Record<string, string> = {}): Promise<number> {
  const text = await (await fetch(`${base}/metrics`)).text();
  let sum = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    if (Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`))) sum += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return sum;
}

let dir: string | undefined;
let cli: RunningCli | undefined;

afterEach(async () => {
  await cli?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
  cli = dir = undefined;
});

async function startCli(): Promise<string> {
  dir = mkdtempSync(path.join(tmpdir(), 'switchboard-buffers-'));
  const config = { mcpServers: { hostile: { command: 'node', args: [HOSTILE] }, calm: { command: 'node', args: [HOSTILE, '--name', 'calm'] } } };
  writeFileSync(path.join(dir, 'switchboard.json'), JSON.stringify(config));
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  cli = spawnCli(['serve', '--port', String(port), '--log-level', 'warn'], { cwd: dir, env: cliEnv() });
  await eventually(
    () =>
      fetch(`${base}/readyz`).then(
        (r) => r.json() as Promise<{ ready: number }>,
        () => undefined,
      ),
    (body) => body?.ready === 2,
    20_000,
  );
  return base;
}

/** Echo calls on another session and upstream until `done` settles; their latencies. */
async function keepCalling(base: string, done: Promise<unknown>): Promise<number[]> {
  const other = new RawSession(`${base}/mcp`, { timeoutMs: 60_000 });
  await other.initialize();
  let finished = false;
  void done.finally(() => (finished = true));
  const latencies: number[] = [];
  while (!finished) {
    const t0 = performance.now();
    expect(textOf(await other.call('calm__echo', { text: 'still here' }))).toBe('still here');
    latencies.push(performance.now() - t0);
  }
  await other.close();
  return latencies;
}

function report(label: string, pid: number, idle: number, latencies: number[], extra = ''): number {
  const peak = rssMib(pid, 'VmHWM');
  const st = latencyStats(latencies);
  console.log(
    `[buffers] ${label}: gateway RSS idle ${idle.toFixed(0)} MiB, peak ${peak.toFixed(0)} MiB; ` +
      `other client n=${st.n} p50 ${fmtMs(st.p50)} max ${fmtMs(st.max)}${extra}`,
  );
  return peak;
}

describe('gateway memory under hostile upstreams and slow readers (real CLI)', () => {
  it(`stays under ${MAX_PEAK_RSS_MIB} MiB of RSS while an upstream writes 40 MiB of stderr without a newline`, async () => {
    const base = await startCli();
    const pid = cli!.child.pid!;
    const idle = rssMib(pid, 'VmRSS');
    const flooder = new RawSession(`${base}/mcp`, { timeoutMs: 110_000 });
    await flooder.initialize();
    const t0 = performance.now();
    const flood = flooder.call('hostile__stderr_flood', { megabytes: 40, separator: 'none' });
    const latencies = await keepCalling(base, flood);
    expect(textOf(await flood)).toBe(`flooded ${40 * 1024 * 1024}`);
    const peak = report('stderr flood (40 MiB, no newline)', pid, idle, latencies, `; flood took ${fmtMs(performance.now() - t0)}`);
    await flooder.close();
    expect(peak).toBeLessThan(MAX_PEAK_RSS_MIB);
  }, 120_000);

  it(`stays under ${MAX_PEAK_RSS_MIB} MiB of RSS while a client stops reading a call that streams 128 MiB of logs`, async () => {
    const base = await startCli();
    const pid = cli!.child.pid!;
    const idle = rssMib(pid, 'VmRSS');
    const slow = new RawSession(`${base}/mcp`);
    await slow.initialize();
    // The call's response is never read: its SSE stream backs up into the gateway.
    const body = JSON.stringify({
      jsonrpc: '2.0',
      id: 99,
      method: 'tools/call',
      params: { name: 'hostile__log_flood', arguments: { count: 32_768, bytes: 4_096 } },
    });
    const url = new URL(`${base}/mcp`);
    const response = await new Promise<http.IncomingMessage>((resolve, reject) => {
      const headers = { ...slow.headers, accept: ACCEPT, 'mcp-protocol-version': PROTOCOL_VERSION };
      const req = http.request({ host: url.hostname, port: url.port, path: url.pathname, method: 'POST', headers, agent: false }, (res) => {
        res.pause(); // never read (without a handler node would read and discard it)
        res.on('error', () => {}); // the gateway resets the stream it gives up on
        resolve(res);
      });
      req.on('error', reject);
      req.end(body);
    });
    // The call ends one way or the other: cancelled when its stream is given up, or done after the last log.
    const ended = eventually(
      () => counter(base, 'switchboard_requests_total', { server: 'hostile', method: 'tools/call' }),
      (n) => n >= 1,
      100_000,
    );
    const latencies = await keepCalling(base, ended);
    await ended;
    const closed = await counter(base, 'switchboard_stream_closed_slow_total');
    const dropped = await counter(base, 'switchboard_stream_dropped_messages_total');
    const peak = report('slow reader (128 MiB of logs)', pid, idle, latencies, `; streams closed ${closed}, messages dropped ${dropped}`);
    response.destroy();
    await slow.close();
    expect(closed).toBe(1);
    expect(peak).toBeLessThan(MAX_PEAK_RSS_MIB);
  }, 120_000);
});
