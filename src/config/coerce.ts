/**
 * Schema pieces for values that arrive from YAML, where `${VAR}` substitution turns numbers and booleans into
 * strings: the obvious spellings are coerced, anything else is refused with a message saying what was expected.
 */
import { z } from 'zod';

/** How a refused value is quoted in a message: short, and never more than a glance at a secret. */
function shown(value: unknown): string {
  if (value === undefined) return 'nothing';
  const text = typeof value === 'string' ? `'${value}'` : JSON.stringify(value);
  return text.length > 40 ? `${text.slice(0, 37)}…` : text;
}

/** Numeric strings become numbers; everything else is left for the number schema to refuse. */
const numeric = (value: unknown): unknown => (typeof value === 'string' && value.trim() !== '' && Number.isFinite(Number(value)) ? Number(value) : value);

/** A whole number from `min` up (to `max`), e.g. a count or milliseconds. */
export function wholeNumber(min: number, max?: number) {
  let schema = z
    .number({ error: (issue) => `must be a whole number, got ${shown(issue.input)}` })
    .int({ error: (issue) => `must be a whole number, got ${shown(issue.input)}` })
    .min(min, { error: `must be at least ${min}` });
  if (max !== undefined) schema = schema.max(max, { error: `must be at most ${max}` });
  return z.preprocess(numeric, schema);
}

/** A decimal number between `min` and `max`, e.g. a price. */
export function decimal(min: number, max: number, unit: string) {
  return z.preprocess(
    numeric,
    z
      .number({ error: (issue) => `must be a number (${unit}), got ${shown(issue.input)}` })
      .min(min, { error: `must be at least ${min} (${unit})` })
      .max(max, { error: `must be at most ${max} (${unit})` }),
  );
}

const TRUE = /^(true|yes|on|1)$/i;
const FALSE = /^(false|no|off|0|)$/i;

/** true/false, also as the strings yes/no, on/off, 1/0 (and the empty string of an unset `${VAR}`: false). */
export const yamlBoolean = z.preprocess(
  (value) => (typeof value !== 'string' ? value : TRUE.test(value.trim()) ? true : FALSE.test(value.trim()) ? false : value),
  z.boolean({ error: (issue) => `must be true or false, got ${shown(issue.input)}` }),
);
