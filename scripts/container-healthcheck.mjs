#!/usr/bin/env node
// The container image's HEALTHCHECK: GET /healthz of the gateway running in this container, exit 0 when it answers
// 200. The port is the one on the gateway's own command line (`--port N`, found in /proc): the image's CMD passes
// $SWITCHBOARD_PORT there, and a container started with another command (compose, Kubernetes, `docker run … node
// bin/switchboard.js --port 9090`) is checked where it listens. Without --port: 8080 (8081 for `bridge`), the
// CLI's defaults; a port set only in the config file is not seen, so pass --port. A wildcard --host (0.0.0.0, ::)
// is asked on 127.0.0.1.
import { readdirSync, readFileSync } from 'node:fs';

/** The argv of the gateway process (node … bin/switchboard.js …), or undefined. */
function gatewayArgv() {
  for (const pid of readdirSync('/proc')) {
    if (!/^\d+$/.test(pid) || Number(pid) === process.pid) continue;
    let argv;
    try {
      argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    } catch {
      continue; // gone, or not ours
    }
    const script = argv.findIndex((arg) => /(^|\/)switchboard(\.js)?$/.test(arg));
    if (script >= 0) return argv.slice(script + 1);
  }
  return undefined;
}

/** The value of `--name V` or `--name=V` before a `--` (what follows `--` is a bridged command's own). */
function flag(args, name) {
  for (let i = 0; i < args.length && args[i] !== '--'; i++) {
    if (args[i] === `--${name}`) return args[i + 1];
    if (args[i].startsWith(`--${name}=`)) return args[i].slice(name.length + 3);
  }
  return undefined;
}

const args = gatewayArgv();
if (!args) {
  console.error('healthcheck: no switchboard process in this container');
  process.exit(1);
}
const port = flag(args, 'port') ?? (args[0] === 'bridge' ? '8081' : '8080');
const bound = flag(args, 'host');
const host = !bound || bound === '0.0.0.0' || bound === '::' ? '127.0.0.1' : bound.includes(':') ? `[${bound}]` : bound;

try {
  const res = await fetch(`http://${host}:${port}/healthz`, { signal: AbortSignal.timeout(4000) });
  if (!res.ok) console.error(`healthcheck: http://${host}:${port}/healthz answered ${res.status}`);
  process.exitCode = res.ok ? 0 : 1;
} catch (error) {
  console.error(`healthcheck: http://${host}:${port}/healthz: ${error.cause?.message ?? error.message}`);
  process.exitCode = 1;
}
