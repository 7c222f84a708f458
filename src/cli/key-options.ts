/**
 * Parsing of the key options the CLI takes (`--budget`, `--budget-period`, `--expires`, `--tpm`, `--rpm`,
 * `--models`, `--name`): each a small function from the text typed to the value stored, throwing UsageError with a
 * message naming the flag. `none` clears a limit on `keys update`.
 */
import { expiryFrom } from '../auth/key-expiry.ts';
import type { KeyUpdateInput } from '../db/keys-repo.ts';
import { BUDGET_PERIODS, type BudgetPeriodKind } from '../metering/budget-period.ts';

/** A mistake in what the user typed: printed without a stack trace, exit code 2. */
export class UsageError extends Error {}

const CLEAR = /^(none|off|null)$/i;

/** A positive whole number, or null for `none`. */
function parseLimit(value: string, flag: string, max: number): number | null {
  if (CLEAR.test(value.trim())) return null;
  const number = Number(value);
  if (value.trim() === '' || !Number.isInteger(number) || number <= 0 || number > max)
    throw new UsageError(`${flag} must be a whole number greater than 0 (or none), got '${value}'`);
  return number;
}

/** `--budget USD`: dollars per period, 0 allowed (a key that may spend nothing); `none` removes the budget. */
export function parseBudget(value: string): number | null {
  if (CLEAR.test(value.trim())) return null;
  const usd = Number(value.trim().replace(/^\$/, ''));
  if (value.trim() === '' || !Number.isFinite(usd) || usd < 0 || usd > 1e9) throw new UsageError(`--budget must be an amount of USD (e.g. 50), got '${value}'`);
  return usd;
}

/** `--budget-period day|week|month` (calendar periods in UTC). */
export function parseBudgetPeriod(value: string): BudgetPeriodKind {
  const period = value.trim().toLowerCase();
  if (!(BUDGET_PERIODS as readonly string[]).includes(period)) throw new UsageError(`--budget-period must be day, week or month, got '${value}'`);
  return period as BudgetPeriodKind;
}

/** `--expires 2027-01-31|30d|ISO time|none`: epoch ms of the first instant the key no longer works, or null. */
export function parseExpires(value: string, now: number = Date.now()): number | null {
  if (CLEAR.test(value.trim()) || value.trim() === 'never') return null;
  try {
    const at = expiryFrom(value, now);
    return at;
  } catch (error) {
    throw new UsageError(`--expires: ${(error as Error).message}`);
  }
}

/** `--tpm N`: tokens per minute. */
export function parseTpm(value: string): number | null {
  return parseLimit(value, '--tpm', 1e12);
}

/** `--rpm N`: requests per minute. */
export function parseRpm(value: string): number | null {
  return parseLimit(value, '--rpm', 1e9);
}

/** `--models GLOB,...`; `none` (or an empty list) lifts the restriction. */
export function parseModels(value: string): string[] | null {
  if (CLEAR.test(value.trim())) return null;
  const globs = value
    .split(',')
    .map((glob) => glob.trim())
    .filter(Boolean);
  return globs.length > 0 ? globs : null;
}

/** The raw option values of `keys update`, as typed. */
export interface KeyUpdateFlags {
  name?: string;
  rpm?: string;
  tpm?: string;
  models?: string;
  budget?: string;
  budgetPeriod?: string;
  expires?: string;
}

/** Parses every flag given into the update the repository applies; fields not given stay as they are. */
export function parseKeyUpdate(flags: KeyUpdateFlags, now: number = Date.now()): KeyUpdateInput {
  const update: KeyUpdateInput = {};
  if (flags.name !== undefined) {
    if (!flags.name.trim()) throw new UsageError('--name must not be empty');
    update.name = flags.name;
  }
  if (flags.rpm !== undefined) update.rpm = parseRpm(flags.rpm);
  if (flags.tpm !== undefined) update.tpm = parseTpm(flags.tpm);
  if (flags.models !== undefined) update.models = parseModels(flags.models);
  if (flags.budget !== undefined) update.budget_usd = parseBudget(flags.budget);
  if (flags.budgetPeriod !== undefined) update.budget_period = parseBudgetPeriod(flags.budgetPeriod);
  if (flags.expires !== undefined) update.expires_at = parseExpires(flags.expires, now);
  if (Object.keys(update).length === 0)
    throw new UsageError('nothing to change: give at least one of --name, --rpm, --tpm, --models, --budget, --budget-period, --expires');
  return update;
}
