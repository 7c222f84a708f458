/** Small wire-format helpers: `gateway_usage` spliced into JSON text, upstream error events recognised. */
import type { GatewayError } from '../errors/gateway-error.ts';
import type { GatewayUsage } from '../metering/meter.ts';
import { extractUpstreamMessage } from '../upstream/errors.ts';
import { UpstreamError } from '../errors/gateway-error.ts';

/**
 * Adds `"gateway_usage": {…}` to a JSON object's text without parsing and re-serialising the rest of it: the
 * upstream's bytes pass through unchanged up to its closing brace.
 */
export function withGatewayUsage(objectText: string, usage: GatewayUsage): string {
  const end = objectText.lastIndexOf('}');
  const inner = objectText.slice(0, end).trimEnd();
  const separator = inner.endsWith('{') ? '' : ',';
  return `${inner}${separator}"gateway_usage":${JSON.stringify(usage)}}`;
}

/** An upstream stream event that reports a failure (`{"error": …}` in either the OpenAI or the TGI shape), else undefined. */
export function errorFromStreamEvent(data: string, provider: string): GatewayError | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(data);
  } catch {
    return undefined;
  }
  if (!parsed || typeof parsed !== 'object' || !('error' in parsed) || !(parsed as { error: unknown }).error) return undefined;
  if ('choices' in parsed) return undefined;
  const { message } = extractUpstreamMessage(data);
  return new UpstreamError(`${provider} failed mid-stream: ${message}`);
}
