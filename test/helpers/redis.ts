/**
 * A real redis-server on loopback for the shared-state tests: no persistence,
 * its own port, stoppable and restartable on the same port (to test outages).
 * `.ci/run` installs Debian's redis-server when it is missing; a test that
 * needs it fails loudly rather than skipping when it is absent.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { freePort, stopProcess, waitForPort } from './processes.js';

export const REDIS_SERVER = ['/usr/bin/redis-server', '/usr/local/bin/redis-server'].find((p) => existsSync(p)) ?? 'redis-server';

export interface RunningRedis {
  port: number;
  url: string;
  /** Stops the server (SIGKILL: an outage, not a clean shutdown). */
  kill(): Promise<void>;
  /** Starts it again on the same port, empty. */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

export async function startRedis(): Promise<RunningRedis> {
  const port = await freePort();
  let child: ChildProcess | undefined;
  const launch = async () => {
    const proc = spawn(REDIS_SERVER, ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--protected-mode', 'no'], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    proc.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    const spawnError = new Promise<never>((_, reject) =>
      proc.once('error', (err) => reject(new Error(`cannot start ${REDIS_SERVER} (install Debian's redis-server): ${err.message}`))),
    );
    await Promise.race([waitForPort(port, { timeoutMs: 10_000, alive: () => proc.exitCode === null }), spawnError]).catch((err: Error) => {
      throw new Error(`${err.message}; stderr: ${stderr}`);
    });
    child = proc;
  };
  await launch();
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    async kill() {
      child?.kill('SIGKILL');
      await stopProcess(child, 2_000);
      child = undefined;
    },
    restart: launch,
    async stop() {
      await stopProcess(child);
      child = undefined;
    },
  };
}
