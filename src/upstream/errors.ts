/** Turns whatever an upstream answers with (OpenAI JSON, HF bare strings, HTML pages, resets) into GatewayErrors. */
import {
  GatewayError,
  ModelNotFoundError,
  UpstreamError,
  UpstreamRateLimitedError,
  UpstreamRequestError,
  UpstreamTimeoutError,
  UpstreamUnavailableError,
} from '../errors/gateway-error.ts';
import { redactSecrets } from '../logging.ts';

interface UpstreamMessage {
  message: string;
  code: string | null;
  param: string | null;
  /** HF's legacy 503 body: `{"error":"Model X is currently loading","estimated_time":20.0}` */
  estimatedTimeS?: number;
}

const MAX_MESSAGE = 500;

/** Reads a message out of the body shapes upstreams use: `{error:{message}}`, `{error:"…"}`, `{detail}`, `{message}`, HTML, text. */
export function extractUpstreamMessage(text: string, contentType = ''): UpstreamMessage {
  const trimmed = text.trim();
  if (trimmed.startsWith('{')) {
    try {
      return messageFromJson(JSON.parse(trimmed) as Record<string, unknown>);
    } catch {
      // Not JSON after all: fall through to the text handling below.
    }
  }
  if (/html/i.test(contentType) || /^<(!doctype|html)/i.test(trimmed)) {
    const title = /<title[^>]*>([^<]*)<\/title>/i.exec(trimmed)?.[1]?.trim();
    return { message: title ? `an HTML error page ("${title}")` : 'an HTML error page', code: null, param: null };
  }
  return { message: trimmed ? trimmed.slice(0, MAX_MESSAGE) : 'an empty body', code: null, param: null };
}

function messageFromJson(body: Record<string, unknown>): UpstreamMessage {
  const error = body.error;
  const estimatedTimeS = typeof body.estimated_time === 'number' ? body.estimated_time : undefined;
  if (error && typeof error === 'object') {
    const e = error as Record<string, unknown>;
    return {
      message: String(e.message ?? JSON.stringify(e)).slice(0, MAX_MESSAGE),
      code: typeof e.code === 'string' ? e.code : typeof e.code === 'number' ? String(e.code) : null,
      param: typeof e.param === 'string' ? e.param : null,
      estimatedTimeS,
    };
  }
  const text =
    typeof error === 'string' ? error : typeof body.detail === 'string' ? body.detail : typeof body.message === 'string' ? body.message : JSON.stringify(body);
  const code = typeof body.error_type === 'string' ? body.error_type : null;
  return { message: text.slice(0, MAX_MESSAGE), code, param: null, estimatedTimeS };
}

/** `Retry-After` as seconds (delta or HTTP date), also `retry-after-ms`; undefined when absent or unreadable. */
export function parseRetryAfter(headers: Record<string, string | string[] | undefined>): number | undefined {
  const ms = Number(first(headers['retry-after-ms']));
  if (Number.isFinite(ms) && ms >= 0 && first(headers['retry-after-ms']) !== undefined) return ms / 1000;
  const value = first(headers['retry-after']);
  if (value === undefined) return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return Math.max(0, seconds);
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, (date - Date.now()) / 1000);
}

function first(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

const MODEL_UNKNOWN = /not supported by (any provider|provider)|model_not_supported|does not exist|model not found|unknown model/i;

/** Maps an upstream HTTP error to the gateway's error table (docs/endpoints.md, "Errors"). */
export function errorFromUpstreamResponse(
  provider: string,
  status: number,
  headers: Record<string, string | string[] | undefined>,
  text: string,
  secrets: readonly string[] = [],
): GatewayError {
  const parsed = extractUpstreamMessage(text, first(headers['content-type']));
  const message = scrub(parsed.message, secrets);
  const said = `${provider} answered HTTP ${status}: ${message}`;
  if ((status === 400 || status === 404) && (parsed.code === 'model_not_supported' || parsed.code === 'model_not_found' || MODEL_UNKNOWN.test(message))) {
    return new ModelNotFoundError(`${provider}: ${message}`);
  }
  if (status === 404) return new ModelNotFoundError(`${provider}: ${message}`);
  if (status === 429) return new UpstreamRateLimitedError(said, parseRetryAfter(headers));
  // 529 is Anthropic's "overloaded": the same meaning as a 503.
  if (status === 503 || status === 529) return new UpstreamUnavailableError(said, parseRetryAfter(headers) ?? parsed.estimatedTimeS);
  if (status === 504) return new UpstreamTimeoutError(said, true);
  if (status === 502) return new UpstreamError(said, { retryable: true });
  // The request itself was refused (bad parameter, context too long): the client must change it, so keep the 4xx.
  if (status === 400 || status === 409 || status === 413 || status === 422) {
    return new UpstreamRequestError(status === 422 ? 400 : status, `${provider}: ${message}`, parsed.code, parsed.param);
  }
  // 401/402/403 blame the gateway's own provider credentials or billing, never the client: a 502 with the reason.
  return new UpstreamError(said, { upstreamStatus: status });
}

/** Where a transport error happened decides its meaning: before the answer it is unavailability, after it a cut body. */
export type TransportPhase = 'connect' | 'body';

export function errorFromTransport(provider: string, error: unknown, phase: TransportPhase): GatewayError {
  if (error instanceof GatewayError) return error;
  const code = transportCode(error);
  if (code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT' || code === 'SY_TIMEOUT') {
    return new UpstreamTimeoutError(`${provider} did not answer within its timeout`);
  }
  if (phase === 'connect') {
    return new UpstreamUnavailableError(`${provider} cannot be reached (${code})`, undefined, true);
  }
  return new UpstreamError(`${provider} closed the connection before the answer was complete (${code})`);
}

function transportCode(error: unknown): string {
  let current: unknown = error;
  for (let depth = 0; depth < 4 && current && typeof current === 'object'; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string') return code;
    current = (current as { cause?: unknown }).cause;
  }
  return error instanceof Error ? error.name : 'unknown error';
}

function scrub(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const secret of secrets) if (secret) out = out.split(secret).join('[redacted]');
  return redactSecrets(out);
}
