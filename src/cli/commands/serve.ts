/**
 * `switchboard [serve]`: the gateway over HTTP, or over stdin/stdout with
 * `--stdio` (then stdout carries nothing but protocol). Runs until SIGINT or
 * SIGTERM (or, with --stdio, until stdin closes), then shuts down cleanly.
 * `bridge` serves through here too.
 */
import { createGateway, type Gateway } from '../../app/gateway.js';
import type { LoadedConfig, LogLevel } from '../../config/schema/index.js';
import { createLogger, type Logger } from '../../observability/log.js';
import { createView } from '../../pipeline/view.js';
import { serveOverStdio } from '../../stdio/front.js';
import type { ParsedArgs } from '../args.js';
import { loadConfigFromFlag } from '../config-file.js';
import { inProfile, profileView } from '../profile-view.js';

/** How long a command waits for the upstreams to come up before it serves or lists. */
export const SETTLE_MS = 15_000;

export function serveCommand(args: ParsedArgs): Promise<number> {
  return serve(loadConfigFromFlag(args.flags.config), args);
}

export async function serve(config: LoadedConfig, args: ParsedArgs): Promise<number> {
  const log = loggerFor(config, args);
  for (const warning of config.warnings) log.warn(warning);
  const gateway = createGateway(config, log);
  gateway.start();
  const shutdown = onceShutdown(gateway, log);
  if (args.flags.stdio) {
    // Desktop clients list tools once, right after connecting: let the upstreams come up first.
    await gateway.settled(SETTLE_MS);
    const front = serveOverStdio(gateway.hub, gateway.stdioPrincipal, profileView(config, args));
    await Promise.race([front.closed, shutdown.requested]);
    await front.close();
    await shutdown.run();
    return 0;
  }
  const host = args.flags.host ?? config.gateway.listen.host;
  const port = args.flags.port !== undefined ? Number(args.flags.port) : config.gateway.listen.port;
  const { url } = await gateway.listen(host, port);
  log.info(`Switchboard listening on ${url}${config.gateway.path}`, { config: config.file });
  await gateway.settled(SETTLE_MS);
  for (const u of gateway.upstreams) {
    log.info(`upstream ${u.name}: ${u.state}`, { tools: u.lists.tools.length, error: u.state === 'ready' ? undefined : u.lastError });
  }
  warnEmptyProfiles(gateway, log);
  await shutdown.requested;
  await shutdown.run();
  return 0;
}

function loggerFor(config: LoadedConfig, args: ParsedArgs): Logger {
  const level = (args.flags['log-level'] as LogLevel | undefined) ?? config.gateway.logLevel;
  return createLogger({ level, pretty: process.stderr.isTTY === true });
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

function onceShutdown(gateway: Gateway, log: Logger): { requested: Promise<void>; run(): Promise<void> } {
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
