/** Errors in Anthropic's shape, `{"type":"error","error":{"type","message"}}`, with the error type its clients expect per status. */
import type { GatewayError } from '../../errors/gateway-error.ts';

export interface MessagesErrorBody {
  type: 'error';
  error: { type: string; message: string };
}

const TYPES: Record<number, string> = {
  400: 'invalid_request_error',
  401: 'authentication_error',
  402: 'billing_error',
  403: 'permission_error',
  404: 'not_found_error',
  413: 'request_too_large',
  429: 'rate_limit_error',
  500: 'api_error',
  502: 'api_error',
  503: 'overloaded_error',
  504: 'timeout_error',
  529: 'overloaded_error',
};

/** The Anthropic error type for an HTTP status; other 4xx are request errors, other 5xx API errors. */
export function messagesErrorType(status: number): string {
  return TYPES[status] ?? (status >= 400 && status < 500 ? 'invalid_request_error' : 'api_error');
}

export function messagesErrorBody(error: GatewayError): MessagesErrorBody {
  return { type: 'error', error: { type: messagesErrorType(error.status), message: error.message } };
}
