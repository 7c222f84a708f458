/**
 * The chat-completions stream meter. Chunks pass through as the upstream's bytes; only chunks that may carry usage
 * or an error are parsed. The upstream's usage-only chunk is held back and sent last, with `gateway_usage`, when the
 * client asked for usage; without usage from the upstream, the streamed text is counted at the end.
 */
import { UpstreamError, type GatewayError } from '../errors/gateway-error.ts';
import type { GatewayUsage, TokenUsage } from '../metering/meter.ts';
import { countTextTokens } from '../metering/tokens.ts';
import type { StreamMeter } from '../proxy/operation.ts';
import { errorFromStreamEvent, withGatewayUsage } from '../proxy/wire.ts';
import type { SseEvent } from '../upstream/sse.ts';

const USAGE = /"usage"\s*:\s*\{/;
const ERROR = /"error"\s*:/;

interface ChunkHead {
  id?: string;
  created?: number;
  model?: string;
}

export class ChatStreamMeter implements StreamMeter {
  readonly doneMarker = true;
  private reported: ChatUsage | undefined;
  private usageChunk: string | undefined;
  private head: ChunkHead | undefined;
  private readonly seen: string[] = [];
  /** The `object` of the usage chunk the gateway writes itself; a dialect with chat's stream shape (legacy completions) sets its own. */
  protected readonly chunkObject: string = 'chat.completion.chunk';

  constructor(
    private readonly promptTokens: number,
    private readonly clientWantsUsage: boolean,
    private readonly provider: string,
  ) {}

  inspect(event: SseEvent): 'forward' | 'hold' | 'done' | GatewayError {
    const data = event.data;
    if (data === '[DONE]') return 'done';
    if (ERROR.test(data)) {
      const error = errorFromStreamEvent(data, this.provider);
      if (error) return error;
    }
    if (this.head === undefined) {
      const head = safeParse(data);
      if (!head) return new UpstreamError(`${this.provider} sent a stream chunk that is not JSON`);
      this.head = { id: head.id as string, created: head.created as number, model: head.model as string };
    }
    if (USAGE.test(data)) {
      const chunk = safeParse(data);
      const usage = chunk?.usage;
      if (usage && typeof usage === 'object') {
        this.reported = usage as typeof this.reported;
        if (Array.isArray(chunk.choices) && chunk.choices.length === 0) {
          this.usageChunk = data;
          return 'hold';
        }
      }
    }
    this.seen.push(data);
    return 'forward';
  }

  usage(): TokenUsage {
    const reported = this.reported;
    if (reported && Number.isFinite(reported.prompt_tokens) && Number.isFinite(reported.completion_tokens)) {
      return { promptTokens: reported.prompt_tokens!, completionTokens: reported.completion_tokens!, estimated: false, ...cacheTokensOf(reported) };
    }
    return { promptTokens: this.promptTokens, completionTokens: countTextTokens(this.textOf(this.seen)), estimated: true };
  }

  closing(gatewayUsage: GatewayUsage): SseEvent[] {
    if (!this.clientWantsUsage) return [];
    if (this.usageChunk && !gatewayUsage.estimated) return [{ data: withGatewayUsage(this.usageChunk, gatewayUsage) }];
    const usage = this.usage();
    const chunk = {
      id: this.head?.id ?? 'chatcmpl-gateway',
      object: this.chunkObject,
      created: this.head?.created ?? Math.floor(Date.now() / 1000),
      model: this.head?.model ?? '',
      choices: [],
      usage: { prompt_tokens: usage.promptTokens, completion_tokens: usage.completionTokens, total_tokens: usage.promptTokens + usage.completionTokens },
      gateway_usage: gatewayUsage,
    };
    return [{ data: JSON.stringify(chunk) }];
  }

  /** The generated text of the chunks seen, counted when the upstream reports no usage. */
  protected textOf(chunks: readonly string[]): string {
    return streamedText(chunks);
  }

  errorEvent(error: GatewayError): SseEvent {
    return { data: JSON.stringify(error.toJSON()) };
  }
}

/** A chat `usage` object as upstreams report it. */
export interface ChatUsage {
  prompt_tokens?: number;
  completion_tokens?: number;
  prompt_tokens_details?: { cached_tokens?: unknown; cache_write_tokens?: unknown } | null;
}

/**
 * The prompt-cache part of a chat usage: `cached_tokens` (OpenAI's field) read from the cache and
 * `cache_write_tokens` (OpenRouter's, also what the Messages translation reports) written to it.
 */
export function cacheTokensOf(usage: ChatUsage): Pick<TokenUsage, 'cacheReadTokens' | 'cacheWriteTokens'> {
  const details = usage.prompt_tokens_details;
  const out: Pick<TokenUsage, 'cacheReadTokens' | 'cacheWriteTokens'> = {};
  if (typeof details?.cached_tokens === 'number' && details.cached_tokens > 0) out.cacheReadTokens = details.cached_tokens;
  if (typeof details?.cache_write_tokens === 'number' && details.cache_write_tokens > 0) out.cacheWriteTokens = details.cache_write_tokens;
  return out;
}

function safeParse(data: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(data);
    return value && typeof value === 'object' ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/** Everything generated so far: content, reasoning and tool-call arguments, from the raw chunks. */
export function streamedText(chunks: readonly string[]): string {
  let text = '';
  for (const data of chunks) {
    const choices = safeParse(data)?.choices;
    if (!Array.isArray(choices)) continue;
    for (const choice of choices as { delta?: Record<string, unknown> }[]) {
      const delta = choice?.delta;
      if (!delta) continue;
      for (const field of ['content', 'reasoning_content', 'reasoning', 'refusal'] as const) {
        if (typeof delta[field] === 'string') text += delta[field];
      }
      if (Array.isArray(delta.tool_calls)) {
        for (const call of delta.tool_calls as { function?: { name?: unknown; arguments?: unknown } }[]) {
          if (typeof call?.function?.name === 'string') text += call.function.name;
          if (typeof call?.function?.arguments === 'string') text += call.function.arguments;
        }
      }
    }
  }
  return text;
}
