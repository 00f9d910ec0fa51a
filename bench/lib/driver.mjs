// The benchmark's side of the load generator: forks bench/lib/loadgen.mjs (a
// separate process, so its CPU never mixes with the servers measured) and
// sends it commands, each with a deadline.
import { fork } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { descendants } from './procs.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const live = new Set();

/** Last resort (the benchmark is exiting): SIGKILL every load generator and its stdio children. */
export function killAllLoadGens() {
  for (const lg of live) lg.killNow();
}

export class LoadGen {
  constructor() {
    this.child = fork(path.join(here, 'loadgen.mjs'), [], { execArgv: [], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    this.pid = this.child.pid;
    live.add(this);
    this.pending = new Map();
    this.nextId = 1;
    this.child.on('message', (msg) => {
      const p = this.pending.get(msg.id);
      if (!p) return;
      this.pending.delete(msg.id);
      clearTimeout(p.timer);
      if (msg.ok) p.resolve(msg.result);
      else p.reject(new Error(`loadgen ${p.cmd}: ${msg.error}`));
    });
    this.child.on('exit', (code) => {
      for (const p of this.pending.values()) p.reject(new Error(`loadgen exited (${code}) during ${p.cmd}`));
      this.pending.clear();
      this.exited = true;
      live.delete(this);
    });
  }

  /** Sends one command; rejects after `timeoutMs`. */
  send(cmd, args = {}, timeoutMs = 60_000) {
    if (this.exited) return Promise.reject(new Error('loadgen has exited'));
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new Error(`loadgen ${cmd} timed out after ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(id, { resolve, reject, timer, cmd });
      this.child.send({ ...args, id, cmd });
    });
  }

  async close() {
    if (this.exited) return;
    const gone = new Promise((resolve) => this.child.once('exit', resolve));
    await this.send('exit', {}, 10_000).catch(() => {});
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 5000);
    await gone;
    clearTimeout(timer);
  }

  /** Last resort (process exit): no waiting. */
  killNow() {
    if (this.exited) return;
    // Its direct stdio children run in their own process groups.
    for (const pid of descendants(this.pid)) {
      for (const target of pid === this.pid ? [pid] : [-pid, pid]) {
        try {
          process.kill(target, 'SIGKILL');
        } catch {}
      }
    }
  }
}
