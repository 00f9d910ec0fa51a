/**
 * The gateway's HTTP listeners: the MCP front (with probes and, unless it has
 * a port of its own, `/metrics`), and the separate metrics listener. A
 * listener that cannot be opened is a ListenError saying which one, where
 * and why; nothing stays open after it.
 */
import { createServer, type Server as HttpServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { GatewaySettings } from '../config/schema/index.js';
import { createHttpFront, type HttpFront, type HttpFrontOptions } from '../http/front.js';
import { metricsEndpoint, metricsOnlyApp } from '../http/metrics-endpoint.js';
import { probeGuard } from '../http/origin.js';
import type { Metrics } from '../observability/metrics.js';

export interface HttpListeners {
  front: HttpFront;
  server: HttpServer;
  metricsServer?: HttpServer;
  url: string;
  port: number;
}

/** A listener could not be opened: `setting` names the port's setting, `code` the cause (EADDRINUSE, EACCES, …). */
export class ListenError extends Error {
  constructor(
    readonly code: string,
    readonly host: string,
    readonly port: number,
    readonly setting: 'gateway.listen.port' | 'gateway.metrics.port',
    cause: unknown,
  ) {
    super(`cannot listen on ${host}:${port} (${code})`, { cause });
  }
}

export type FrontParts = Omit<HttpFrontOptions, 'settings' | 'metrics' | 'streams' | 'sessionLimitEvents'>;

export async function listenHttp(settings: GatewaySettings, metrics: Metrics, parts: FrontParts, host: string, port: number): Promise<HttpListeners> {
  // The address actually bound decides which Host headers are loopback-only.
  const separateMetrics = settings.metrics.enabled && settings.metrics.port !== undefined;
  const metricsHandler = settings.metrics.enabled ? metricsEndpoint(metrics, settings.metrics.sha256) : undefined;
  const front = createHttpFront({
    ...parts,
    settings: { ...settings, listen: { host, port } },
    metrics: separateMetrics ? undefined : metricsHandler,
    streams: { reporter: metrics },
    sessionLimitEvents: { refused: (reason) => metrics.sessionRefused(reason), evicted: (reason) => metrics.sessionEvicted(reason) },
  });
  const server = await listenOn(createServer(front.handle), host, port, 'gateway.listen.port').catch(async (err: unknown) => {
    await front.close();
    throw err;
  });
  server.keepAliveTimeout = 65_000;
  const metricsHost = settings.metrics.host ?? host;
  const metricsServer =
    separateMetrics && metricsHandler
      ? await listenOn(
          createServer(metricsOnlyApp(metricsHandler, probeGuard({ ...settings, listen: { host: metricsHost } }))),
          metricsHost,
          settings.metrics.port!,
          'gateway.metrics.port',
        ).catch(async (err: unknown) => {
          server.close();
          await front.close();
          throw err;
        })
      : undefined;
  const address = server.address() as AddressInfo;
  const shownHost = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return { front, server, metricsServer, url: `http://${shownHost}:${address.port}`, port: address.port };
}

/** Stops accepting; see closeGracefully. The front's own handlers close after the sessions drain. */
export function stopAccepting(http: HttpListeners): void {
  closeGracefully(http.server);
  http.metricsServer?.close();
}

export function closeAllConnections(http: HttpListeners): void {
  http.server.closeAllConnections();
  http.metricsServer?.closeAllConnections();
}

/**
 * Stops accepting connections. Idle keep-alive connections close now; a
 * request still arriving on a busy one is served and its connection closed
 * after, so a proxy's next request opens a new connection, is refused, and
 * goes to another replica instead of reaching one that is about to vanish.
 */
function closeGracefully(server: HttpServer): void {
  server.close();
  server.on('request', (_req, res: ServerResponse) => {
    if (!res.headersSent) res.setHeader('Connection', 'close');
  });
}

function listenOn(server: HttpServer, host: string, port: number, setting: ListenError['setting']): Promise<HttpServer> {
  return new Promise((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) => reject(new ListenError(err.code ?? 'error', host, port, setting, err)));
    server.listen(port, host, () => resolve(server));
  });
}
