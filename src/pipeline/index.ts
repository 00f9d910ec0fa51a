/**
 * The order every forwarded request goes through. Read this file to know
 * where a request is resolved, checked and forwarded.
 */
import type { Catalog } from '../catalog/catalog.js';
import type { Logger } from '../observability/log.js';
import type { ConnectionPool } from '../upstream/pool.js';
import { createPipeline, type Pipeline } from './chain.js';
import { forward } from './forward.js';
import { record } from './record.js';
import { resolveRoute } from './resolve-route.js';

export interface PipelineDeps {
  catalog: Catalog;
  pool: ConnectionPool;
  log: Logger;
}

export function buildPipeline(deps: PipelineDeps): Pipeline {
  return createPipeline({
    stages: [
      // First: an unknown name gets the spec's error before anything else
      // runs, and later stages need the real upstream and original name.
      resolveRoute(deps.catalog),
    ],
    // Always last, like a router filter: the only stage that talks upstream.
    terminal: forward(deps.pool),
    // Runs in finally, for refused and failed requests too.
    finish: [record(deps.log)],
  });
}

export type { Pipeline } from './chain.js';
export type { CallContext, RoutedMethod, SessionInfo } from './context.js';
