/**
 * Start, drain and stop. Stopping goes unready first (a load balancer stops
 * sending here while what it still sends is served), then refuses new work
 * while calls in flight finish (bounded by `drainMs`), then closes
 * everything, the listeners' connections last.
 */
import type { GatewaySettings } from '../config/schema/index.js';
import type { Logger } from '../observability/log.js';
import type { Hub } from '../session/hub.js';
import type { ConnectionPool } from '../upstream/pool.js';
import type { Upstream } from '../upstream/server.js';
import { ConfigRuntime } from './config-runtime.js';
import { closeAllConnections, stopAccepting, type HttpListeners } from './http-server.js';
import type { InFlight } from './in-flight.js';
import { settledUpstreams } from './upstream-events.js';

const RESPONSE_FLUSH_MS = 100;
/** How long a request waits for upstreams that are still connecting at start. */
const STARTUP_WAIT_MS = 15_000;

export interface LifecycleParts {
  settings: GatewaySettings;
  configFile: string;
  log: Logger;
  inflight: InFlight;
  hub: Hub;
  pool: ConnectionPool;
  upstreams: readonly Upstream[];
  /** File-backed settings that reload while running (policies, the contract lock): watched from start to stop. */
  watched: { watch(): void; close(): void }[];
  configRuntime: ConfigRuntime;
  /** Closed last, in this order: stores and sinks that calls in flight may still write to. */
  stores: { close(): Promise<void> }[];
}

export class Lifecycle {
  stopped = false;
  /** True once new work is refused (see refuseWhileDraining in http/front.ts). */
  draining = false;
  /** Resolves once every upstream has come up or failed once since start (bounded). */
  started: Promise<void> = Promise.resolve();
  http: HttpListeners | undefined;

  constructor(private readonly parts: LifecycleParts) {}

  start(): void {
    const { watched, configRuntime, configFile, hub, settings, upstreams } = this.parts;
    for (const w of watched) w.watch();
    if (ConfigRuntime.watchable(configFile)) configRuntime.watch();
    hub.sessions.startSweeper(settings.sessionIdleMs);
    for (const upstream of upstreams) upstream.start();
    this.started = settledUpstreams(upstreams, STARTUP_WAIT_MS);
  }

  async stop(): Promise<void> {
    const { settings, log, hub, pool, upstreams, watched, configRuntime, stores } = this.parts;
    this.stopped = true;
    if (this.http && settings.shutdownDelayMs > 0) {
      log.info('unready; still serving before stopping', { shutdownDelayMs: settings.shutdownDelayMs });
      await delay(settings.shutdownDelayMs);
    }
    this.draining = true;
    await this.drainCalls();
    // The last answers are written after their handlers return: let them reach the wire.
    await delay(RESPONSE_FLUSH_MS);
    if (this.http) stopAccepting(this.http);
    await this.http?.front.close();
    await hub.close();
    await pool.closeAll();
    await Promise.allSettled(upstreams.map((u) => u.stop()));
    for (const w of watched) w.close();
    configRuntime.close();
    for (const store of stores) await store.close();
    if (this.http) closeAllConnections(this.http);
  }

  /** Lets calls in flight finish within `drainMs`; what is left is aborted and given a second to answer. */
  private async drainCalls(): Promise<void> {
    const { inflight, settings, log, hub } = this.parts;
    if (inflight.count > 0) {
      log.info('draining calls in flight', { count: inflight.count, drainMs: settings.drainMs });
      await inflight.drained(settings.drainMs);
    }
    if (inflight.count > 0) {
      hub.abortInFlight();
      await inflight.drained(1_000);
    }
  }
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
