/**
 * `switchboard [serve]`: the gateway over HTTP, or over stdin/stdout with
 * `--stdio` (then stdout carries nothing but protocol). Runs until SIGINT or
 * SIGTERM (or, with --stdio, until stdin closes), then shuts down cleanly;
 * neither waits for upstreams that are still connecting. A port that cannot
 * be listened on is said in one line with its fix (exit 1). `bridge` serves
 * through here too, and ends (exit 1) when its one server cannot start.
 */
import { createGateway, type Gateway } from '../../app/gateway.js';
import { ListenError } from '../../app/http-server.js';
import type { LoadedConfig, LogLevel } from '../../config/schema/index.js';
import { createLogger, type Logger } from '../../observability/log.js';
import { createView, type View } from '../../pipeline/view.js';
import { openStdio, type StdioClient } from '../../stdio/front.js';
import type { ParsedArgs } from '../args.js';
import { loadConfigFromFlag } from '../config-file.js';
import { inProfile, profileView } from '../profile-view.js';
import { LongNames } from './long-names.js';

/** How long a command waits for the upstreams to come up before it serves or lists. */
export const SETTLE_MS = 15_000;

export interface ServeOptions {
  /** bridge: its one server, and the command line it runs (ending the command when it cannot start). */
  bridged?: { server: string; command: string };
}

export function serveCommand(args: ParsedArgs): Promise<number> {
  return serve(loadConfigFromFlag(args.flags.config), args);
}

export async function serve(config: LoadedConfig, args: ParsedArgs, options: ServeOptions = {}): Promise<number> {
  const log = loggerFor(config, args);
  for (const warning of config.warnings) log.warn(warning);
  // An unknown --profile is said before anything starts.
  const view = args.flags.stdio ? profileView(config, args) : undefined;
  const gateway = createGateway(config, log);
  // Read stdin from the start: a client that goes away while the upstreams come up ends the gateway at once.
  const client = view ? openStdio() : undefined;
  gateway.start();
  const shutdown = onceShutdown(gateway, log);
  if (client && view) return serveStdio(gateway, client, view, { shutdown, log });
  const host = args.flags.host ?? config.gateway.listen.host;
  const port = args.flags.port !== undefined ? Number(args.flags.port) : config.gateway.listen.port;
  let url: string;
  try {
    ({ url } = await gateway.listen(host, port));
  } catch (err) {
    if (!(err instanceof ListenError)) throw err;
    process.stderr.write(listenProblem(err, config, options));
    await shutdown.run();
    return 1;
  }
  log.info(`Switchboard listening on ${url}${config.gateway.path}`, { config: config.file });
  // A signal while the upstreams are still connecting stops the gateway now, not after the wait.
  if ((await untilFirst(gateway.settled(SETTLE_MS), shutdown.requested)) === 'settled') {
    for (const u of gateway.upstreams) {
      log.info(`upstream ${u.name}: ${u.state}`, { tools: u.lists.tools.length, error: u.state === 'ready' ? undefined : u.lastError });
    }
    const failed = options.bridged && bridgeFailure(gateway, options.bridged);
    if (failed) {
      process.stderr.write(failed);
      await shutdown.run();
      return 1;
    }
    warnEmptyProfiles(gateway, log);
    watchLongNames(gateway, log);
    await shutdown.requested;
  }
  await shutdown.run();
  return 0;
}

async function serveStdio(gateway: Gateway, client: StdioClient, view: View, { shutdown, log }: { shutdown: Shutdown; log: Logger }): Promise<number> {
  const ended = Promise.race([client.closed, shutdown.requested]);
  // Desktop clients list tools once, right after connecting: let the upstreams come up first, unless the client leaves.
  if ((await untilFirst(gateway.settled(SETTLE_MS), ended)) === 'settled') {
    const front = client.serve(gateway.hub, gateway.stdioPrincipal, view);
    watchLongNames(gateway, log);
    await ended;
    await front.close();
  }
  await shutdown.run();
  return 0;
}

/** Which came first: the upstreams settling, or the end. */
async function untilFirst(settled: Promise<void>, end: Promise<void>): Promise<'settled' | 'ended'> {
  return Promise.race([settled.then(() => 'settled' as const), end.then(() => 'ended' as const)]);
}

function loggerFor(config: LoadedConfig, args: ParsedArgs): Logger {
  const level = (args.flags['log-level'] as LogLevel | undefined) ?? config.gateway.logLevel;
  return createLogger({ level, pretty: process.stderr.isTTY === true });
}

/** What went wrong opening a listener, and how to pick another address: one line and a fix, no stack. */
export function listenProblem(err: ListenError, config: LoadedConfig, options: ServeOptions): string {
  const where = `${err.host}:${err.port}`;
  const command = options.bridged ? 'switchboard bridge' : 'switchboard';
  const inFile = options.bridged ? '' : ` in ${config.file}`;
  const portFix =
    err.setting === 'gateway.metrics.port' ? `gateway.metrics.port${inFile}` : `--port N${options.bridged ? '' : `, or gateway.listen.port${inFile}`}`;
  const hostFix =
    err.setting === 'gateway.metrics.port' ? `gateway.metrics.host${inFile}` : `--host H${options.bridged ? '' : `, or gateway.listen.host${inFile}`}`;
  const which = err.setting === 'gateway.metrics.port' ? 'the metrics port' : 'port';
  const [problem, fix] =
    err.code === 'EADDRINUSE'
      ? [
          `${which} ${err.port} on ${err.host} is already in use (EADDRINUSE)`,
          `stop what is listening there, or pick another port: ${portFix} (0 picks a free one)`,
        ]
      : err.code === 'EACCES'
        ? [`not allowed to listen on ${where} (EACCES)`, `ports below 1024 need privileges: pick another port: ${portFix}`]
        : err.code === 'EADDRNOTAVAIL' || err.code === 'ENOTFOUND' || err.code === 'EAI_AGAIN'
          ? [`cannot listen on ${where}: ${err.host} is not an address of this machine (${err.code})`, `pick another address: ${hostFix}`]
          : [`cannot listen on ${where} (${err.code})`, `check the address: ${hostFix}; and the port: ${portFix}`];
  return `${command}: ${problem}\n  fix: ${fix}\n`;
}

/** bridge: its server failed to start (spawn error, exited, not an MCP server), said with the command and the cause. */
function bridgeFailure(gateway: Gateway, bridged: NonNullable<ServeOptions['bridged']>): string | undefined {
  const upstream = gateway.upstreams.find((u) => u.name === bridged.server);
  if (upstream?.state !== 'down' || upstream.lastError === undefined) return undefined;
  return `switchboard bridge: the bridged command did not start: ${bridged.command}: ${upstream.lastError}\n  fix: check the command after -- (is it installed, on PATH, and an MCP server over stdio?)\n`;
}

/** A profile whose servers are up but whose globs match nothing is almost certainly a typo. */
function warnEmptyProfiles(gateway: Gateway, log: Logger): void {
  for (const profile of Object.values(gateway.config.gateway.profiles)) {
    if (!profile.enabled) continue;
    const view = createView(profile);
    if (gateway.catalog.entries().some((e) => e.kind === 'tool' && inProfile(gateway, view, e))) continue;
    log.warn(`profile "${profile.name}" matches no tool`, { fix: 'check its servers and "tools" globs against `switchboard catalog`' });
  }
}

/** Tool names too long for many clients: warned about once each, now and as upstreams' lists change. */
function watchLongNames(gateway: Gateway, log: Logger): void {
  const names = new LongNames(() => gateway.config);
  const report = () => {
    for (const n of names.check(gateway.catalog.entries())) log.warn(n.message, { tool: n.tool, server: n.server, fix: n.fix });
  };
  report();
  for (const u of gateway.upstreams) u.on('lists', report);
}

interface Shutdown {
  requested: Promise<void>;
  run(): Promise<void>;
}

function onceShutdown(gateway: Gateway, log: Logger): Shutdown {
  let request!: () => void;
  const requested = new Promise<void>((resolve) => (request = resolve));
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      log.info('shutting down', { signal });
      request();
      // A second signal means now.
      process.once(signal, () => process.exit(130));
    });
  }
  let running: Promise<void> | undefined;
  return {
    requested,
    run: () => (running ??= gateway.stop()),
  };
}
