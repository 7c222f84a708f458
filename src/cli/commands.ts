/** The CLI's database commands (SPEC §1): keys, credits, usage, migrate. Each prints text, or JSON with --json. */
import type { Db } from '../db/knex.ts';
import { addCredits, createKey, getKey, keyView, listKeys, revokeKey, type KeyRecord } from '../db/keys-repo.ts';
import { groupUsage, listUsage, type UsageGroupBy } from '../db/usage-repo.ts';
import { formatTable } from './table.ts';

/** A mistake in what the user typed: printed without a stack trace, exit code 2. */
export class UsageError extends Error {}

export type Print = (text: string) => void;

export interface KeysCreateOptions {
  name?: string;
  credits?: string;
  trialTokens?: string;
  rpm?: string;
  models?: string;
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

export async function keysCreate(db: Db, options: KeysCreateOptions, print: Print): Promise<void> {
  if (!options.name?.trim()) throw new UsageError('--name is required');
  const { record, secret } = await createKey(db, {
    name: options.name,
    credits_usd: parseNumber(options.credits, '--credits', { positive: false }),
    trial_tokens: parseNumber(options.trialTokens, '--trial-tokens', { integer: true }),
    rpm: parseNumber(options.rpm, '--rpm', { integer: true }),
    models: options.models?.split(',').map((glob) => glob.trim()).filter(Boolean),
  });
  if (options.json) {
    print(JSON.stringify({ ...keyView(record), key: secret }));
    return;
  }
  print(`Created key ${record.id} (${record.name}).`);
  print(`  ${secret}`);
  print('Store it now: it is shown only once.');
}

export async function keysList(db: Db, json: boolean, print: Print): Promise<void> {
  const keys = await listKeys(db);
  if (json) {
    print(JSON.stringify(keys.map(keyView)));
    return;
  }
  print(
    formatTable(
      ['ID', 'NAME', 'PREFIX', 'BALANCE_USD', 'TRIAL_TOKENS', 'RPM', 'MODELS', 'REVOKED', 'CREATED'],
      keys.map((key) => {
        const view = keyView(key);
        return [view.id, view.name, view.prefix, view.balance_usd?.toFixed(6), view.trial_tokens_remaining, view.rpm, view.models?.join(','), view.revoked ? 'yes' : 'no', view.created_at];
      }),
    ),
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
  groupBy?: string;
  json?: boolean;
}

export async function usageReport(db: Db, options: UsageOptions, print: Print): Promise<void> {
  let since: number | undefined;
  if (options.since !== undefined) {
    since = Date.parse(options.since);
    if (Number.isNaN(since)) throw new UsageError(`--since must be an ISO date or time, got '${options.since}'`);
  }
  if (options.key !== undefined) await requireKey(db, options.key);
  const filter = { keyId: options.key, since };
  if (options.groupBy !== undefined) {
    if (!['model', 'day', 'key'].includes(options.groupBy)) throw new UsageError(`--group-by must be model, day or key, got '${options.groupBy}'`);
    const groups = await groupUsage(db, filter, options.groupBy as UsageGroupBy);
    if (options.json) return print(JSON.stringify(groups));
    print(formatTable([options.groupBy.toUpperCase(), 'REQUESTS', 'PROMPT_TOKENS', 'COMPLETION_TOKENS', 'COST_USD'], groups.map((g) => [g.group, g.requests, g.prompt_tokens, g.completion_tokens, g.cost_usd.toFixed(6)])));
    return;
  }
  const rows = await listUsage(db, filter);
  if (options.json) return print(JSON.stringify(rows));
  print(
    formatTable(
      ['CREATED', 'REQUEST_ID', 'KEY', 'PROVIDER', 'MODEL', 'STATUS', 'PROMPT', 'COMPLETION', 'COST_USD', 'MS', 'EST'],
      rows.map((r) => [r.created_at, r.request_id, r.key_id, r.provider, r.model, r.status, r.prompt_tokens, r.completion_tokens, r.cost_usd.toFixed(6), r.latency_ms, r.estimated ? 'yes' : '']),
    ),
  );
  const cost = rows.reduce((sum, row) => sum + row.cost_usd, 0);
  print(`\n${rows.length} requests, $${cost.toFixed(6)} in all.`);
}
