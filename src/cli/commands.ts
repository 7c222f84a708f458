/** The CLI's database commands: keys, credits, usage. Each prints text, or JSON with --json. */
import type { Db } from '../db/knex.ts';
import { addCredits, createKey, getKey, keyView, listKeys, revokeKey, type KeyRecord } from '../db/keys-repo.ts';
import { groupUsage, listUsage, type UsageGroupBy } from '../db/usage-repo.ts';
import { formatTable } from './table.ts';

/** A mistake in what the user typed: printed without a stack trace, exit code 2. */
export class UsageError extends Error {}

/** A well-formed command the database state refuses (a key already revoked): exit code 1. */
export class Refusal extends Error {}

export type Print = (text: string) => void;

/** Options already checked by the parsers in values.ts. */
export interface KeysCreateOptions {
  name: string;
  credits?: number;
  trialTokens?: number;
  rpm?: number;
  models?: string[];
  json?: boolean;
}

export async function keysCreate(db: Db, options: KeysCreateOptions, print: Print): Promise<void> {
  if (!options.name.trim()) throw new UsageError("option '--name <name>' must not be empty");
  const { record, secret } = await createKey(db, {
    name: options.name,
    credits_usd: options.credits,
    trial_tokens: options.trialTokens,
    rpm: options.rpm,
    models: options.models,
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
        return [
          view.id,
          view.name,
          view.prefix,
          view.balance_usd?.toFixed(6),
          view.trial_tokens_remaining,
          view.rpm,
          view.models?.join(','),
          view.revoked ? 'yes' : 'no',
          view.created_at,
        ];
      }),
    ),
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

export async function creditsAdd(db: Db, id: string, usd: number, print: Print): Promise<void> {
  const key = await requireLiveKey(db, id, 'credits cannot be added to it (create a new key instead)');
  const updated = await addCredits(db, key.id, usd);
  print(`Added $${usd} to ${key.id}; balance is now $${(updated!.balanceMicro! / 1e6).toFixed(6)}.`);
}

export interface UsageOptions {
  key?: string;
  /** Epoch ms. */
  since?: number;
  groupBy?: UsageGroupBy;
  json?: boolean;
}

export async function usageReport(db: Db, options: UsageOptions, print: Print): Promise<void> {
  if (options.key !== undefined) await requireKey(db, options.key);
  const filter = { keyId: options.key, since: options.since };
  if (options.groupBy !== undefined) {
    const groups = await groupUsage(db, filter, options.groupBy);
    if (options.json) return print(JSON.stringify(groups));
    print(
      formatTable(
        [options.groupBy.toUpperCase(), 'REQUESTS', 'PROMPT_TOKENS', 'COMPLETION_TOKENS', 'COST_USD'],
        groups.map((g) => [g.group, g.requests, g.prompt_tokens, g.completion_tokens, g.cost_usd.toFixed(6)]),
      ),
    );
    return;
  }
  const rows = await listUsage(db, filter);
  if (options.json) return print(JSON.stringify(rows));
  print(
    formatTable(
      ['CREATED', 'REQUEST_ID', 'KEY', 'PROVIDER', 'MODEL', 'STATUS', 'PROMPT', 'COMPLETION', 'COST_USD', 'MS', 'EST'],
      rows.map((r) => [
        r.created_at,
        r.request_id,
        r.key_id,
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
  print(`\n${rows.length} requests, $${cost.toFixed(6)} in all.`);
}
