/** The CLI's database commands: keys, credits, usage. Each takes parsed values and prints text, or JSON with --json. */
import type { Db } from '../db/knex.ts';
import { addCredits, createKey, getKey, keyView, listKeys, revokeKey, updateKey, type KeyRecord, type KeyUpdateInput, type KeyView } from '../db/keys-repo.ts';
import { DEFAULT_USAGE_LIMIT, groupUsage, listUsage, type UsageGroupBy } from '../db/usage-repo.ts';
import type { BudgetPeriodKind } from '../metering/budget-period.ts';
import { UsageError } from './key-options.ts';
import { formatTable } from './table.ts';

export { UsageError };

/** A well-formed command the database state refuses (a key already revoked): exit code 1. */
export class Refusal extends Error {}

export type Print = (text: string) => void;

/** Options already checked by the parsers in values.ts and key-options.ts. */
export interface KeysCreateOptions {
  name: string;
  credits?: number;
  trialTokens?: number;
  rpm?: number;
  tpm?: number;
  models?: string[];
  budget?: number;
  budgetPeriod?: BudgetPeriodKind;
  /** Epoch ms of the first instant the key no longer works. */
  expires?: number;
  json?: boolean;
}

export async function keysCreate(db: Db, options: KeysCreateOptions, print: Print): Promise<void> {
  if (!options.name.trim()) throw new UsageError("option '--name <name>' must not be empty");
  if (options.budgetPeriod !== undefined && options.budget === undefined) throw new UsageError("option '--budget-period' needs --budget");
  const { record, secret } = await createKey(db, {
    name: options.name,
    credits_usd: options.credits,
    trial_tokens: options.trialTokens,
    rpm: options.rpm,
    tpm: options.tpm,
    models: options.models,
    budget_usd: options.budget,
    budget_period: options.budgetPeriod,
    expires_at: options.expires,
  });
  if (options.json) {
    print(JSON.stringify({ ...keyView(record), key: secret }));
    return;
  }
  print(`Created key ${record.id} (${record.name})`);
  print(`  ${secret}`);
  print('Store it now: it is shown only once.');
}

/** `keys update ID …` once its options are parsed (see parseKeyUpdate): prints the key as it is now. */
export async function keysUpdate(db: Db, id: string, update: KeyUpdateInput, json: boolean, print: Print): Promise<void> {
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

/** Cents when both amounts are whole cents; else micro-dollars, so a spend of $49.999981 never reads as 50.00. */
function budgetCell(view: KeyView): string | null {
  if (view.budget_usd === null) return null;
  const wholeCents = (value: number) => Math.abs(Math.round(value * 100) - value * 100) < 1e-6;
  const digits = wholeCents(view.budget_spent_usd ?? 0) && wholeCents(view.budget_usd) ? 2 : 6;
  return `${usd(view.budget_spent_usd ?? 0, digits)}/${usd(view.budget_usd, digits)} ${view.budget_period}`;
}

function keysTable(views: readonly KeyView[]): string {
  return formatTable(
    [
      'ID',
      'NAME',
      'PREFIX',
      'BALANCE_USD',
      'TRIAL_TOKENS',
      'BUDGET_USD',
      'BUDGET_RESETS',
      'RPM',
      'TPM',
      'MODELS',
      'EXPIRES',
      'LAST_USED',
      'REVOKED',
      'CREATED',
    ],
    views.map((view) => [
      view.id,
      view.name,
      view.prefix,
      usd(view.balance_usd),
      view.trial_tokens_remaining,
      budgetCell(view),
      view.budget_resets_at,
      view.rpm,
      view.tpm,
      view.models?.join(','),
      view.expires_at,
      view.last_used_at,
      view.revoked ? 'yes' : 'no',
      view.created_at,
    ]),
  );
}

async function requireKey(db: Db, id: string): Promise<KeyRecord> {
  const key = await getKey(db, id);
  if (!key) throw new Refusal(`no key with ID '${id}' (see \`switchyard keys list\`)`);
  return key;
}

/** A key that is still live: revoked keys take no top-ups and no second revoke. */
async function requireLiveKey(db: Db, id: string, refused: string): Promise<KeyRecord> {
  const key = await requireKey(db, id);
  if (key.revoked) throw new Refusal(`key ${key.id} (${key.name}) is revoked: ${refused}`);
  return key;
}

export async function keysRevoke(db: Db, id: string, print: Print): Promise<void> {
  const key = await requireLiveKey(db, id, 'it was revoked before, nothing to do');
  await revokeKey(db, key.id);
  print(`Revoked key ${key.id} (${key.name}). Every instance refuses it within a few seconds.`);
}

export async function creditsAdd(db: Db, id: string, amount: number, print: Print): Promise<void> {
  const key = await requireLiveKey(db, id, 'credits cannot be added to it (create a new key instead)');
  const updated = await addCredits(db, key.id, amount);
  print(`Added $${amount} to ${key.id}; balance is now $${(updated!.balanceMicro! / 1e6).toFixed(6)}.`);
}

export interface UsageOptions {
  key?: string;
  /** Epoch ms. */
  since?: number;
  until?: number;
  limit?: number;
  groupBy?: UsageGroupBy;
  json?: boolean;
}

/** Rows newest first (at most `limit`), or groups with key names beside ids. */
export async function usageReport(db: Db, options: UsageOptions, print: Print): Promise<void> {
  if (options.key !== undefined) await requireKey(db, options.key);
  const filter = { keyId: options.key, since: options.since, until: options.until, limit: options.limit ?? DEFAULT_USAGE_LIMIT };
  if (options.groupBy !== undefined) {
    const groups = await groupUsage(db, filter, options.groupBy);
    if (options.json) return print(JSON.stringify(groups));
    const named = options.groupBy === 'key';
    print(
      formatTable(
        [options.groupBy.toUpperCase(), ...(named ? ['NAME'] : []), 'REQUESTS', 'PROMPT_TOKENS', 'COMPLETION_TOKENS', 'COST_USD'],
        groups.map((g) => [g.group, ...(named ? [g.name] : []), g.requests, g.prompt_tokens, g.completion_tokens, g.cost_usd.toFixed(6)]),
      ),
    );
    return;
  }
  const rows = await listUsage(db, filter);
  if (options.json) return print(JSON.stringify(rows));
  print(
    formatTable(
      ['CREATED', 'REQUEST_ID', 'KEY', 'ENDPOINT', 'PROVIDER', 'MODEL', 'STATUS', 'PROMPT', 'COMPLETION', 'COST_USD', 'MS', 'EST'],
      rows.map((r) => [
        r.created_at,
        r.request_id,
        r.key_id,
        r.endpoint,
        r.provider,
        r.model,
        r.status,
        r.prompt_tokens,
        r.completion_tokens,
        r.cost_usd.toFixed(6),
        r.latency_ms,
        r.estimated ? 'yes' : '',
      ]),
    ),
  );
  const cost = rows.reduce((sum, row) => sum + row.cost_usd, 0);
  const more = rows.length === filter.limit ? ` (the newest ${filter.limit}; --limit N or --until ${rows.at(-1)!.created_at} for more)` : '';
  print(`\n${rows.length} requests, $${cost.toFixed(6)} in all${more}.`);
}
