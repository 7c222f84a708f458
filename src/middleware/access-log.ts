/**
 * One log line and one metrics sample per request, written when the response closes. Never keys or message text.
 * Requests refused for their key are counted every one, but logged by sample: a flood of them cannot fill the disk.
 */
import type { RequestHandler } from 'express';
import { infoWriter, type Logger } from '../logging.ts';
import type { GatewayMetrics } from '../metrics.ts';
import { LogSampler } from '../util/log-sampler.ts';

export function accessLog(logger: Logger, metrics: GatewayMetrics, unauthenticated = new LogSampler(10, 1000)): RequestHandler {
  const writeLine = infoWriter(logger);
  return function logRequest(req, res, next) {
    const started = performance.now();
    res.once('close', () => {
      const ms = performance.now() - started;
      const call = res.locals.call;
      const route = res.locals.route ?? 'other';
      const provider = call?.provider ?? 'none';
      const status = call?.status ?? (res.writableFinished ? res.statusCode : 499);
      metrics.requests.inc({ route, provider, status: String(status) });
      metrics.duration.observe({ route, provider }, ms / 1000);
      let skipped: number | undefined;
      const refused = res.locals.authFailure;
      if (refused) {
        metrics.authFailures.inc({ route, reason: refused });
        const sample = unauthenticated.take();
        if (!sample) return;
        if (sample.skipped > 0) skipped = sample.skipped;
      }
      writeLine('request', {
        requestId: res.locals.requestId,
        method: req.method,
        route,
        status,
        ms: Math.round(ms * 10) / 10,
        provider: call?.provider ?? undefined,
        model: call?.model?.slice(0, 120) ?? undefined,
        keyId: res.locals.key?.id,
        stream: call?.stream || undefined,
        errorCode: call?.errorCode ?? (refused ? 'invalid_api_key' : undefined),
        authFailure: refused,
        // Requests refused for their key and not logged since the last such line.
        unauthenticatedSkipped: skipped,
      });
    });
    next();
  };
}
