/** GatewayError and its subclasses: every failure a client sees, rendered as OpenAI error JSON (SPEC §5). */

export interface GatewayErrorOptions {
  param?: string | null;
  headers?: Record<string, string>;
  /** Seconds the client should wait; sent as `Retry-After` and `retry-after-ms`. */
  retryAfterS?: number;
  /** Whether the core may try the same upstream again (connect errors, 429, 502/503/504). */
  retryable?: boolean;
  /** The HTTP status the upstream answered with, when the error came from one (routing cools on 401/403). */
  upstreamStatus?: number;
  cause?: unknown;
}

export interface OpenAIErrorBody {
  error: { message: string; type: string; param: string | null; code: string | null };
}

export class GatewayError extends Error {
  readonly status: number;
  readonly type: string;
  readonly code: string | null;
  readonly param: string | null;
  readonly headers: Record<string, string>;
  readonly retryAfterS: number | undefined;
  readonly retryable: boolean;
  readonly upstreamStatus: number | undefined;

  constructor(status: number, type: string, code: string | null, message: string, options: GatewayErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.status = status;
    this.type = type;
    this.code = code;
    this.param = options.param ?? null;
    this.retryAfterS = options.retryAfterS;
    this.retryable = options.retryable ?? false;
    this.upstreamStatus = options.upstreamStatus;
    this.headers = { ...options.headers };
    if (this.retryAfterS !== undefined) {
      this.headers['retry-after'] = String(Math.max(0, Math.ceil(this.retryAfterS)));
      this.headers['retry-after-ms'] = String(Math.max(0, Math.round(this.retryAfterS * 1000)));
    }
  }

  toJSON(): OpenAIErrorBody {
    return { error: { message: this.message, type: this.type, param: this.param, code: this.code } };
  }
}

const INVALID = 'invalid_request_error';
const SERVER = 'server_error';

export class InvalidRequestError extends GatewayError {
  constructor(message: string, param: string | null = null, code = 'invalid_request') {
    super(400, INVALID, code, message, { param });
  }
}

export class UnknownProviderError extends GatewayError {
  constructor(name: string, known: readonly string[]) {
    super(400, INVALID, 'unknown_provider', `Unknown provider '${name}'. Configured providers: ${known.join(', ') || 'none'}.`, {
      param: 'provider',
    });
  }
}

export class InvalidApiKeyError extends GatewayError {
  constructor(message = 'Invalid gateway API key. Send it as "Authorization: Bearer sk-sy-…".') {
    super(401, 'authentication_error', 'invalid_api_key', message);
  }
}

export class UnauthorizedError extends GatewayError {
  constructor(message = 'Missing or invalid admin token.') {
    super(401, 'authentication_error', 'unauthorized', message);
  }
}

export class InsufficientCreditsError extends GatewayError {
  constructor(message: string) {
    super(402, 'insufficient_quota', 'insufficient_credits', message);
  }
}

export class TrialExhaustedError extends GatewayError {
  constructor(message: string) {
    super(402, 'insufficient_quota', 'trial_exhausted', message);
  }
}

export class BudgetExceededError extends GatewayError {
  constructor(message: string) {
    super(402, 'insufficient_quota', 'budget_exceeded', message);
  }
}

export class ModelNotAllowedError extends GatewayError {
  constructor(model: string) {
    super(403, 'permission_error', 'model_not_allowed', `This key may not use the model '${model}'.`, { param: 'model' });
  }
}

export class ModelNotFoundError extends GatewayError {
  constructor(message: string) {
    super(404, INVALID, 'model_not_found', message, { param: 'model' });
  }
}

export class RouteNotFoundError extends GatewayError {
  constructor(method: string, path: string) {
    super(404, INVALID, 'not_found', `Unknown route: ${method} ${path}`);
  }
}

export class MethodNotAllowedError extends GatewayError {
  constructor(method: string, path: string, allowed: readonly string[]) {
    super(405, INVALID, 'method_not_allowed', `Method ${method} is not allowed on ${path}.`, {
      headers: { allow: allowed.join(', ') },
    });
  }
}

export class RequestTooLargeError extends GatewayError {
  constructor(limit: string) {
    super(413, INVALID, 'request_too_large', `Request body is larger than the limit of ${limit}.`);
  }
}

export class RateLimitExceededError extends GatewayError {
  constructor(message: string, retryAfterS: number) {
    super(429, 'rate_limit_error', 'rate_limit_exceeded', message, { retryAfterS });
  }
}

export class ServiceUnavailableError extends GatewayError {
  constructor(message: string, retryAfterS = 1) {
    super(503, SERVER, 'service_unavailable', message, { retryAfterS });
  }
}

/** Upstream failures. `provider` is the provider entry name, used in messages and metrics. */
export class UpstreamError extends GatewayError {
  constructor(message: string, options: GatewayErrorOptions = {}) {
    super(502, SERVER, 'upstream_error', message, options);
  }
}

/** A 4xx that the upstream blames on the request itself (bad parameter, context too long): kept as is. */
export class UpstreamRequestError extends GatewayError {
  constructor(status: number, message: string, code: string | null, param: string | null) {
    super(status, INVALID, code ?? 'invalid_request', message, { param });
  }
}

export class UpstreamRateLimitedError extends GatewayError {
  constructor(message: string, retryAfterS?: number) {
    super(429, 'rate_limit_error', 'upstream_rate_limited', message, { retryAfterS, retryable: true });
  }
}

export class ProviderNotConfiguredError extends GatewayError {
  constructor(message: string) {
    super(503, SERVER, 'provider_not_configured', message);
  }
}

export class UpstreamUnavailableError extends GatewayError {
  constructor(message: string, retryAfterS?: number, retryable = true) {
    super(503, SERVER, 'upstream_unavailable', message, { retryAfterS, retryable });
  }
}

export class UpstreamTimeoutError extends GatewayError {
  constructor(message: string, retryable = false) {
    super(504, SERVER, 'upstream_timeout', message, { retryable });
  }
}

/** Wraps anything thrown that is not a GatewayError; `source` names the plugin or module it came from. */
export function toGatewayError(error: unknown, source: string): GatewayError {
  if (error instanceof GatewayError) return error;
  const detail = error instanceof Error ? error.message : String(error);
  return new UpstreamError(`${source} failed: ${detail}`, { cause: error });
}
