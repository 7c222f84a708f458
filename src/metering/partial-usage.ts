/**
 * A call that failed after part of it was generated (one of several upstream calls failed, the others had
 * finished): the request answers with the failure, and the usage it carries is charged on the target that served.
 */
import { GatewayError } from '../errors/gateway-error.ts';
import type { Target } from '../plugins/registry.ts';
import type { TokenUsage } from './meter.ts';

export class PartialUsageError extends GatewayError {
  constructor(
    cause: GatewayError,
    /** What the upstream generated before the failure; the request is charged for it. */
    readonly usage: TokenUsage,
    readonly target: Target,
  ) {
    // Never retried: a retry or a fallback would generate (and bill) the finished part again.
    super(cause.status, cause.type, cause.code, cause.message, { param: cause.param, headers: cause.headers, retryable: false, cause });
  }
}

/** The usage of several calls as one: tokens added, estimated when any part was. */
export function sumUsage(parts: readonly TokenUsage[]): TokenUsage {
  const total: TokenUsage = { promptTokens: 0, completionTokens: 0, estimated: false };
  for (const part of parts) {
    total.promptTokens += part.promptTokens;
    total.completionTokens += part.completionTokens;
    total.estimated ||= part.estimated;
    if (part.cacheReadTokens) total.cacheReadTokens = (total.cacheReadTokens ?? 0) + part.cacheReadTokens;
    if (part.cacheWriteTokens) total.cacheWriteTokens = (total.cacheWriteTokens ?? 0) + part.cacheWriteTokens;
  }
  return total;
}
