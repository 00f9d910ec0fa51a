/**
 * `switchboard --stdio` answers what is not one JSON-RPC message as the HTTP
 * front does (-32700 for a line that is not JSON, -32600 for a batch or a
 * value that is not a message) instead of dropping it and leaving the client
 * waiting, and keeps serving the messages around it.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FIXTURES, ROOT } from '../helpers/gateway.js';
import { CLI } from '../helpers/processes.js';

let dir: string;
let child: ChildProcessWithoutNullStreams;
const waiting: ((line: Record<string, unknown>) => void)[] = [];
const lines: Record<string, unknown>[] = [];

/** The next answer the gateway writes to stdout (every line there must be JSON). */
function nextLine(): Promise<Record<string, unknown>> {
  const ready = lines.shift();
  return ready ? Promise.resolve(ready) : new Promise((resolve) => waiting.push(resolve));
}

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'switchboard-stdio-'));
  const config = path.join(dir, 'switchboard.json');
  writeFileSync(config, JSON.stringify({ mcpServers: { ks: { command: process.execPath, args: [path.join(FIXTURES, 'stdio.mjs')] } } }));
  child = spawn(process.execPath, [CLI, '--stdio', '--config', config], { cwd: ROOT, env: { PATH: process.env.PATH ?? '' } });
  createInterface({ input: child.stdout }).on('line', (text) => {
    const line = JSON.parse(text) as Record<string, unknown>;
    // Notifications (list changes as the upstream comes up) are not answers.
    if ('method' in line) return;
    const waiter = waiting.shift();
    if (waiter) waiter(line);
    else lines.push(line);
  });
  child.stdin.write(
    `${JSON.stringify({ jsonrpc: '2.0', id: 0, method: 'initialize', params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'raw', version: '1' } } })}\n`,
  );
  expect(await nextLine()).toMatchObject({ id: 0, result: { protocolVersion: '2025-11-25' } });
  child.stdin.write(`${JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' })}\n`);
});

afterAll(() => {
  child?.kill();
  rmSync(dir, { recursive: true, force: true });
});

describe('--stdio answers malformed lines', () => {
  it.each([
    ['a line that is not JSON', 'this is not json', -32700, null],
    ['a batch', JSON.stringify([{ jsonrpc: '2.0', id: 5, method: 'ping' }]), -32600, null],
    ['a method that is not a string', JSON.stringify({ jsonrpc: '2.0', id: 6, method: 42 }), -32600, 6],
    ['the wrong jsonrpc version', JSON.stringify({ jsonrpc: '1.0', id: 'v', method: 'ping' }), -32600, 'v'],
  ])('%s', async (_what, line, code, id) => {
    child.stdin.write(`${line}\n`);
    expect(await nextLine()).toEqual({ jsonrpc: '2.0', id, error: { code, message: expect.any(String) } });
    // And the connection still serves.
    child.stdin.write(`${JSON.stringify({ jsonrpc: '2.0', id: 99, method: 'ping' })}\n`);
    expect(await nextLine()).toMatchObject({ id: 99, result: {} });
  });
});
