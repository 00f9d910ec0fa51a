/**
 * `GET /metrics` in Prometheus text format, on the main port or its own, and
 * optionally behind a key (compared by hash, like API keys).
 */
import express, { type Express, type Request, type RequestHandler, type Response } from 'express';
import { hashKey } from '../auth/api-keys.js';
import type { Metrics } from '../observability/metrics.js';

export type MetricsHandler = (req: Request, res: Response) => Promise<void>;

export function metricsEndpoint(metrics: Metrics, sha256?: string): MetricsHandler {
  const expected = sha256?.toLowerCase();
  return async function serveMetrics(req, res) {
    if (expected) {
      const presented = /^Bearer\s+(.+)$/i.exec(req.header('authorization') ?? '')?.[1]?.trim();
      if (!presented || hashKey(presented) !== expected) {
        res.setHeader('WWW-Authenticate', 'Bearer realm="switchboard-metrics"');
        return void res.status(401).type('text/plain').send('metrics need a key\n');
      }
    }
    res.setHeader('Content-Type', metrics.contentType);
    res.send(await metrics.render());
  };
}

/** A listener that serves only /metrics (and /healthz for its own probe). */
export function metricsOnlyApp(handler: MetricsHandler, guard: RequestHandler = (_req, _res, next) => next()): Express {
  const app = express();
  app.disable('x-powered-by');
  app.get('/metrics', guard, handler);
  app.get('/healthz', guard, (_req, res) => void res.json({ status: 'ok' }));
  return app;
}
