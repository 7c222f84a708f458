/** The CLI's database commands (SPEC §1): keys, credits, usage, migrate. Each prints text, or JSON with --json. */
import type { Db } from '../db/knex.ts';
import { addCredits, createKey, getKey, keyView, listKeys, revokeKey, updateKey, type KeyCreateInput, type KeyRecord, type KeyUpdateInput, type KeyView } from '../db/keys-repo.ts';
import { DEFAULT_USAGE_LIMIT, groupUsage, listUsage, type UsageGroupBy } from '../db/usage-repo.ts';
import { parseBudget, parseBudgetPeriod, parseExpires, parseModels, parseTpm, UsageError } from './key-options.ts';
import { formatTable } from './table.ts';

export { UsageError };

export type Print = (text: string) => void;

export interface KeysCreateOptions {
  name?: string;
  credits?: string;
  trialTokens?: string;
  rpm?: string;
  models?: string;
  budget?: string;
  budgetPeriod?: string;
  tpm?: string;
  expires?: string;
  json?: boolean;
}

function parseNumber(value: string | undefined, flag: string, { integer = false, positive = true } = {}): number | undefined {
  if (value === undefined) return undefined;
  const number = Number(value);
  if (value.trim() === '' || !Number.isFinite(number)) throw new UsageError(`${flag} must be a number, got '${value}'`);
  if (integer && !Number.isInteger(number)) throw new UsageError(`${flag} must be a whole number, got '${value}'`);
  if (positive ? number <= 0 : number < 0) throw new UsageError(`${flag} must be ${positive ? 'greater than 0' : 'zero or more'}, got '${value}'`);
  return number;
}

/** The typed options of `keys create` → the repository's input; every value checked, errors name the flag. */
export function parseKeyCreate(options: KeysCreateOptions, now: number = Date.now()): KeyCreateInput {
  if (!options.name?.trim()) throw new UsageError('--name is required');
  if (options.budgetPeriod !== undefined && options.budget === undefined) throw new UsageError('--budget-period needs --budget');
  return {
    name: options.name,
    credits_usd: parseNumber(options.credits, '--credits', { positive: false }),
    trial_tokens: parseNumber(options.trialTokens, '--trial-tokens', { integer: true }),
    rpm: parseNumber(options.rpm, '--rpm', { integer: true }),
    models: options.models === undefined ? undefined : parseModels(options.models),
    budget_usd: options.budget === undefined ? undefined : parseBudget(options.budget),
    budget_period: options.budgetPeriod === undefined ? undefined : parseBudgetPeriod(options.budgetPeriod),
    tpm: options.tpm === undefined ? undefined : parseTpm(options.tpm),
    expires_at: options.expires === undefined ? undefined : parseExpires(options.expires, now),
  };
}

export async function keysCreate(db: Db, options: KeysCreateOptions, print: Print): Promise<void> {
  await createKeyAction(db, parseKeyCreate(options), options.json === true, print);
}

/** `keys create` once its options are parsed: prints the secret once (or the key as JSON). */
export async function createKeyAction(db: Db, input: KeyCreateInput, json: boolean, print: Print): Promise<void> {
  const { record, secret } = await createKey(db, input);
  if (json) {
    print(JSON.stringify({ ...keyView(record), key: secret }));
    return;
  }
  print(`Created key ${record.id} (${record.name}).`);
  print(`  ${secret}`);
  print('Store it now: it is shown only once.');
}

/** `keys update ID …` once its options are parsed (see parseKeyUpdate): prints the key as it is now. */
export async function keysUpdate(db: Db, id: string | undefined, update: KeyUpdateInput, json: boolean, print: Print): Promise<void> {
  const key = await requireKey(db, id);
  const updated = (await updateKey(db, key.id, update))!;
  const view = keyView(updated);
  if (json) return print(JSON.stringify(view));
  print(`Updated key ${view.id} (${view.name}); every instance applies it within 10 seconds.`);
  print(keysTable([view]));
}

export async function keysList(db: Db, json: boolean, print: Print): Promise<void> {
  const views = (await listKeys(db)).map(keyView);
  print(json ? JSON.stringify(views) : keysTable(views));
}

const usd = (value: number | null, digits = 6) => (value === null ? null : value.toFixed(digits));

function budgetCell(view: KeyView): string | null {
  if (view.budget_usd === null) return null;
  return `${usd(view.budget_spent_usd, 2)}/${usd(view.budget_usd, 2)} ${view.budget_period}`;
}

function keysTable(views: readonly KeyView[]): string {
  return formatTable(
    ['ID', 'NAME', 'PREFIX', 'BALANCE_USD', 'TRIAL_TOKENS', 'BUDGET_USD', 'BUDGET_RESETS', 'RPM', 'TPM', 'MODELS', 'EXPIRES', 'LAST_USED', 'REVOKED', 'CREATED'],
    views.map((view) => [
      view.id, view.name, view.prefix, usd(view.balance_usd), view.trial_tokens_remaining, budgetCell(view), view.budget_resets_at, view.rpm, view.tpm,
      view.models?.join(','), view.expires_at, view.last_used_at, view.revoked ? 'yes' : 'no', view.created_at,
    ]),
  );
}

async function requireKey(db: Db, id: string | undefined): Promise<KeyRecord> {
  if (!id) throw new UsageError('a key ID is required (see `switchyard keys list`)');
  const key = await getKey(db, id);
  if (!key) throw new UsageError(`no key with ID '${id}' (see \`switchyard keys list\`)`);
  return key;
}

export async function keysRevoke(db: Db, id: string | undefined, print: Print): Promise<void> {
  const key = await requireKey(db, id);
  await revokeKey(db, key.id);
  print(`Revoked key ${key.id} (${key.name}). Every instance refuses it within a few seconds.`);
}

export async function creditsAdd(db: Db, id: string | undefined, amount: string | undefined, print: Print): Promise<void> {
  if (amount === undefined) throw new UsageError('usage: switchyard credits add ID USD');
  const usd = parseNumber(amount, 'USD')!;
  const key = await requireKey(db, id);
  const updated = await addCredits(db, key.id, usd);
  print(`Added $${usd} to ${key.id}; balance is now $${(updated!.balanceMicro! / 1e6).toFixed(6)}.`);
}

export interface UsageOptions {
  key?: string;
  since?: string;
  until?: string;
  limit?: string;
  groupBy?: string;
  json?: boolean;
}

function parseTime(value: string | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined;
  const at = Date.parse(value);
  if (Number.isNaN(at)) throw new UsageError(`${flag} must be an ISO date or time, got '${value}'`);
  return at;
}

/** The typed options of `usage` → what the report takes. */
export function parseUsageOptions(options: UsageOptions): UsageReportInput {
  const groupBy = options.groupBy;
  if (groupBy !== undefined && !['model', 'day', 'key'].includes(groupBy)) throw new UsageError(`--group-by must be model, day or key, got '${groupBy}'`);
  return {
    keyId: options.key,
    since: parseTime(options.since, '--since'),
    until: parseTime(options.until, '--until'),
    limit: parseNumber(options.limit, '--limit', { integer: true }),
    groupBy: groupBy as UsageGroupBy | undefined,
    json: options.json === true,
  };
}

export interface UsageReportInput {
  keyId?: string;
  since?: number;
  until?: number;
  limit?: number;
  groupBy?: UsageGroupBy;
  json: boolean;
}

export async function usageReport(db: Db, options: UsageOptions, print: Print): Promise<void> {
  await usageReportAction(db, parseUsageOptions(options), print);
}

/** `usage` once its options are parsed: rows newest first (at most `limit`), or groups with key names beside ids. */
export async function usageReportAction(db: Db, input: UsageReportInput, print: Print): Promise<void> {
  if (input.keyId !== undefined) await requireKey(db, input.keyId);
  const filter = { keyId: input.keyId, since: input.since, until: input.until, limit: input.limit ?? DEFAULT_USAGE_LIMIT };
  if (input.groupBy !== undefined) {
    const groups = await groupUsage(db, filter, input.groupBy);
    if (input.json) return print(JSON.stringify(groups));
    const named = input.groupBy === 'key';
    print(
      formatTable(
        [input.groupBy.toUpperCase(), ...(named ? ['NAME'] : []), 'REQUESTS', 'PROMPT_TOKENS', 'COMPLETION_TOKENS', 'COST_USD'],
        groups.map((g) => [g.group, ...(named ? [g.name] : []), g.requests, g.prompt_tokens, g.completion_tokens, g.cost_usd.toFixed(6)]),
      ),
    );
    return;
  }
  const rows = await listUsage(db, filter);
  if (input.json) return print(JSON.stringify(rows));
  print(
    formatTable(
      ['CREATED', 'REQUEST_ID', 'KEY', 'PROVIDER', 'MODEL', 'STATUS', 'PROMPT', 'COMPLETION', 'COST_USD', 'MS', 'EST'],
      rows.map((r) => [r.created_at, r.request_id, r.key_id, r.provider, r.model, r.status, r.prompt_tokens, r.completion_tokens, r.cost_usd.toFixed(6), r.latency_ms, r.estimated ? 'yes' : '']),
    ),
  );
  const cost = rows.reduce((sum, row) => sum + row.cost_usd, 0);
  const more = rows.length === filter.limit ? ` (the newest ${filter.limit}; --limit N or --until ${rows.at(-1)!.created_at} for more)` : '';
  print(`\n${rows.length} requests, $${cost.toFixed(6)} in all${more}.`);
}
