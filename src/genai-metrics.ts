/**
 * Per-call metrics when a call finishes: its cost (`switchyard_cost_usd_total`) and the OpenTelemetry GenAI client
 * and server metrics under their Prometheus names (dots become underscores, units become suffixes), labelled with
 * the operation, the provider entry and the requested model. Model names come from clients, so the label keeps
 * at most a bounded number of them; the rest are counted as "other".
 */
import type { Registry } from 'prom-client';
import { FastCounter, FastHistogram } from './metric-series.ts';
import type { CallRecord } from './proxy/call-record.ts';

const LABELS = ['gen_ai_operation_name', 'gen_ai_provider_name', 'gen_ai_request_model'] as const;

/** `gen_ai.operation.name` per gateway endpoint: the Responses and Messages APIs are chat operations. */
const OPERATIONS: Record<string, string> = { chat: 'chat', responses: 'chat', messages: 'chat', embeddings: 'embeddings', completions: 'text_completion' };

const MAX_MODELS = 500;

export class GenAiMetrics {
  private readonly cost: FastCounter<'provider' | 'model'>;
  private readonly tokens: FastHistogram<(typeof LABELS)[number] | 'gen_ai_token_type'>;
  private readonly duration: FastHistogram<(typeof LABELS)[number]>;
  private readonly ttft: FastHistogram<(typeof LABELS)[number]>;
  private readonly perToken: FastHistogram<(typeof LABELS)[number]>;
  private readonly models = new Set<string>();

  constructor(registry: Registry) {
    const registers = [registry];
    this.cost = new FastCounter({
      name: 'switchyard_cost_usd_total',
      help: 'Spend in USD, by provider entry and model.',
      labelNames: ['provider', 'model'],
      registers,
    });
    // Bucket boundaries are the ones the OpenTelemetry GenAI semantic conventions advise.
    this.tokens = new FastHistogram({
      name: 'gen_ai_client_token_usage',
      help: 'Tokens used per call, by token type (input or output).',
      labelNames: [...LABELS, 'gen_ai_token_type'],
      buckets: [1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864],
      registers,
    });
    this.duration = new FastHistogram({
      name: 'gen_ai_client_operation_duration_seconds',
      help: 'Duration of GenAI operations, from request to the end of the answer.',
      labelNames: LABELS,
      buckets: [0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92],
      registers,
    });
    this.ttft = new FastHistogram({
      name: 'gen_ai_server_time_to_first_token_seconds',
      help: 'Time to the first streamed token.',
      labelNames: LABELS,
      buckets: [0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10],
      registers,
    });
    this.perToken = new FastHistogram({
      name: 'gen_ai_server_time_per_output_token_seconds',
      help: 'Time per output token after the first one, for streamed answers.',
      labelNames: LABELS,
      buckets: [0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1, 2.5],
      registers,
    });
  }

  /** Records a finished call that reached a provider; refusals before one (no provider chosen) are not GenAI calls. */
  observe(call: CallRecord): void {
    if (call.provider === null) return;
    const model = this.modelLabel(call.model ?? '');
    const labels = { gen_ai_operation_name: OPERATIONS[call.endpoint] ?? call.endpoint, gen_ai_provider_name: call.provider, gen_ai_request_model: model };
    const seconds = call.elapsedMs() / 1000;
    this.duration.observe(labels, seconds);
    if (call.costMicro > 0) this.cost.inc({ provider: call.provider, model }, call.costMicro / 1e6);
    if (call.promptTokens > 0) this.tokens.observe({ ...labels, gen_ai_token_type: 'input' }, call.promptTokens);
    if (call.completionTokens > 0) this.tokens.observe({ ...labels, gen_ai_token_type: 'output' }, call.completionTokens);
    if (call.ttftMs !== null) {
      this.ttft.observe(labels, call.ttftMs / 1000);
      if (call.completionTokens > 1) this.perToken.observe(labels, Math.max(0, seconds - call.ttftMs / 1000) / (call.completionTokens - 1));
    }
  }

  private modelLabel(model: string): string {
    const name = model.slice(0, 200);
    if (this.models.has(name)) return name;
    if (this.models.size >= MAX_MODELS) return 'other';
    this.models.add(name);
    return name;
  }
}
