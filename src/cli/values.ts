/**
 * Parsers for the CLI's option and argument values. Each throws commander's InvalidArgumentError, so a bad value is
 * one line naming the option, the value and what it must be, and the exit code is 2.
 */
import { InvalidArgumentError } from 'commander';
import { nearestKey } from '../config/explain.ts';

/** Money is kept in whole micro-dollars: an amount must be at least one and carry no finer fraction. */
export function usdAmount({ allowZero = false } = {}): (value: string) => number {
  return (value) => {
    const usd = Number(value);
    if (value.trim() === '' || !Number.isFinite(usd)) throw new InvalidArgumentError('It must be an amount in USD such as 5 or 0.25.');
    if (usd < 0 || (usd === 0 && !allowZero)) throw new InvalidArgumentError(`It must be ${allowZero ? 'zero or more' : 'greater than 0'} USD.`);
    if (usd > 1e9) throw new InvalidArgumentError('It must be at most 1000000000 USD.');
    const micro = usd * 1e6;
    if (usd !== 0 && micro < 1 - 1e-9) throw new InvalidArgumentError('It is below one micro-dollar (0.000001 USD), the smallest amount the gateway keeps.');
    if (Math.abs(micro - Math.round(micro)) > 1e-6) throw new InvalidArgumentError('It has more than 6 decimals; amounts are kept in whole micro-dollars.');
    return usd;
  };
}

/** A whole number at least `min` (and at most `max`). */
export function wholeNumber(min: number, max = Number.MAX_SAFE_INTEGER): (value: string) => number {
  return (value) => {
    const number = Number(value);
    if (value.trim() === '' || !Number.isInteger(number)) throw new InvalidArgumentError('It must be a whole number.');
    if (number < min || number > max) {
      throw new InvalidArgumentError(max === Number.MAX_SAFE_INTEGER ? `It must be at least ${min}.` : `It must be between ${min} and ${max}.`);
    }
    return number;
  };
}

/** An ISO 8601 date or date-time, as epoch milliseconds. */
export function isoTime(value: string): number {
  const time = Date.parse(value);
  if (Number.isNaN(time)) throw new InvalidArgumentError('It must be an ISO date or time such as 2026-12-01 or 2026-12-01T09:00:00Z.');
  return time;
}

/** A comma-separated list of model globs. */
export function globList(value: string): string[] {
  const globs = value
    .split(',')
    .map((glob) => glob.trim())
    .filter(Boolean);
  if (globs.length === 0) throw new InvalidArgumentError("It must list at least one model glob such as 'gpt-*,meta-llama/*'.");
  return globs;
}

/** One of a few words, with the nearest one suggested for a typo. */
export function oneOf<T extends string>(...choices: T[]): (value: string) => T {
  return (value) => {
    if ((choices as string[]).includes(value)) return value as T;
    const nearest = nearestKey(value, choices);
    throw new InvalidArgumentError(`It must be one of ${choices.join(', ')}${nearest ? ` (did you mean '${nearest}'?)` : ''}.`);
  };
}

/** A parser that throws the CLI's own UsageError (key-options.ts) as a commander argument parser. */
export function argParser<T>(parse: (value: string) => T): (value: string) => T {
  return (value) => {
    try {
      return parse(value);
    } catch (error) {
      throw new InvalidArgumentError((error as Error).message);
    }
  };
}
