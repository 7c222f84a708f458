/** Request validation with zod, reported the OpenAI way: a 400 naming the offending `param`. */
import type { z } from 'zod';
import { InvalidRequestError } from '../errors/gateway-error.ts';

/** `messages.0.role` → `messages[0].role`, as OpenAI writes params. */
function paramOf(path: readonly PropertyKey[]): string | null {
  if (path.length === 0) return null;
  return path.map((part, index) => (typeof part === 'number' ? `[${part}]` : index === 0 ? String(part) : `.${String(part)}`)).join('');
}

export function validateBody<S extends z.ZodType>(schema: S, body: unknown): z.output<S> {
  const result = schema.safeParse(body);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const param = paramOf(issue.path);
  throw new InvalidRequestError(param ? `Invalid '${param}': ${issue.message}` : issue.message, param);
}
