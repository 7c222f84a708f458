/** Prometheus metrics, one registry per app so several apps in one process (tests) never collide. */
import { Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import { GenAiMetrics } from './genai-metrics.ts';
import { FastCounter, FastHistogram } from './metric-series.ts';

export class GatewayMetrics {
  readonly registry = new Registry();
  readonly requests = new FastCounter({
    name: 'switchyard_requests_total',
    help: 'Requests answered, by route, provider entry and HTTP status.',
    labelNames: ['route', 'provider', 'status'] as const,
    registers: [this.registry],
  });
  readonly duration = new FastHistogram({
    name: 'switchyard_request_duration_seconds',
    help: 'Time from request to the end of the response.',
    labelNames: ['route', 'provider'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
    registers: [this.registry],
  });
  readonly ttft = new FastHistogram({
    name: 'switchyard_time_to_first_token_seconds',
    help: 'Time from request to the first streamed chunk sent to the client.',
    labelNames: ['route', 'provider'] as const,
    buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  });
  readonly upstreamErrors = new FastCounter({
    name: 'switchyard_upstream_errors_total',
    help: 'Failed upstream attempts, by provider entry and error code.',
    labelNames: ['provider', 'code'] as const,
    registers: [this.registry],
  });
  readonly upstreamAttempts = new FastCounter({
    name: 'switchyard_upstream_attempts_total',
    help: 'Upstream attempts (retries and fallbacks included), by provider entry and outcome.',
    labelNames: ['provider', 'outcome'] as const,
    registers: [this.registry],
  });
  readonly activeStreams = new Gauge({
    name: 'switchyard_active_streams',
    help: 'Streams currently open to clients.',
    registers: [this.registry],
  });
  readonly tokens = new FastCounter({
    name: 'switchyard_tokens_total',
    help: 'Tokens metered, by provider entry and kind (prompt or completion).',
    labelNames: ['provider', 'kind'] as const,
    registers: [this.registry],
  });
  readonly authFailures = new FastCounter({
    name: 'switchyard_auth_failures_total',
    help: 'Requests refused for their gateway key (answered 401, no usage row), by route and reason.',
    labelNames: ['route', 'reason'] as const,
    registers: [this.registry],
  });
  readonly rateLimitStoreErrors = new FastCounter({
    name: 'switchyard_rate_limit_store_errors_total',
    help: 'Rate-limit store failures (Redis down), answered per rate_limit.on_store_error.',
    registers: [this.registry],
  });

  /** Cost and the OpenTelemetry GenAI metrics, per finished call. */
  readonly genAi = new GenAiMetrics(this.registry);

  constructor(usagePending: () => number) {
    new Gauge({
      name: 'switchyard_usage_rows_pending',
      help: 'Usage rows waiting to be written.',
      registers: [this.registry],
      collect() {
        this.set(usagePending());
      },
    });
    collectDefaultMetrics({ register: this.registry, prefix: 'switchyard_' });
  }
}
