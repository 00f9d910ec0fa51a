// The direct stdio baseline: a lean client that speaks JSON-RPC lines over a
// child's stdin/stdout, in the load generator's own process. Several "sessions"
// share the one child (as they share it behind the gateway), each with its own
// calls in flight, matched by id.
import { spawn } from 'node:child_process';
import { PROTOCOL_VERSION } from './mcp-http.mjs';

const REQUEST_TIMEOUT_MS = 15_000;

export class StdioConnection {
  /** @param {string} command @param {string[]} args @param {{ cwd?: string }} [options] */
  constructor(command, args, options = {}) {
    this.child = spawn(command, args, { cwd: options.cwd, stdio: ['pipe', 'pipe', 'ignore'], detached: true });
    this.pid = this.child.pid;
    this.pending = new Map();
    this.nextId = 1;
    this.buffer = '';
    this.exited = false;
    this.child.stdout.setEncoding('utf8');
    this.child.stdout.on('data', (chunk) => this.onData(chunk));
    this.child.on('exit', () => {
      this.exited = true;
      for (const p of this.pending.values()) p.reject(new Error('stdio server exited'));
      this.pending.clear();
    });
    this.child.stdin.on('error', () => {});
  }

  onData(chunk) {
    this.buffer += chunk;
    let nl;
    while ((nl = this.buffer.indexOf('\n')) >= 0) {
      const line = this.buffer.slice(0, nl);
      this.buffer = this.buffer.slice(nl + 1);
      if (!line.trim()) continue;
      let msg;
      try {
        msg = JSON.parse(line);
      } catch {
        continue; // not protocol
      }
      if (msg.id === undefined || msg.method !== undefined) continue; // notifications and server requests
      const p = this.pending.get(msg.id);
      if (!p) continue;
      this.pending.delete(msg.id);
      clearTimeout(p.timer);
      p.resolve(msg);
    }
  }

  /** Resolves the JSON-RPC response message whose id matches. */
  request(method, paramsJson) {
    if (this.exited) return Promise.reject(new Error('stdio server exited'));
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new Error(`${method} timed out after ${REQUEST_TIMEOUT_MS} ms`));
      }, REQUEST_TIMEOUT_MS);
      this.pending.set(id, { resolve, reject, timer });
      this.child.stdin.write(`{"jsonrpc":"2.0","id":${id},"method":"${method}","params":${paramsJson}}\n`);
    });
  }

  async initialize() {
    const params = JSON.stringify({ protocolVersion: PROTOCOL_VERSION, capabilities: {}, clientInfo: { name: 'switchboard-bench', version: '1.0.0' } });
    const msg = await this.request('initialize', params);
    if (msg.error) throw new Error(`initialize: ${JSON.stringify(msg.error)}`);
    this.child.stdin.write('{"jsonrpc":"2.0","method":"notifications/initialized"}\n');
    return msg.result;
  }

  /** Closes stdin, then kills the child's process group if it has not gone within 2 s. */
  async close() {
    if (this.exited) return;
    const gone = new Promise((resolve) => this.child.once('exit', resolve));
    this.child.stdin.end();
    const timer = setTimeout(() => {
      try {
        process.kill(-this.pid, 'SIGKILL');
      } catch {}
    }, 2000);
    await gone;
    clearTimeout(timer);
  }
}
