/** Gateway keys: created with 256 random bits, stored only as a SHA-256 hash plus a short display prefix. */
import { hash, randomBytes } from 'node:crypto';
import { z } from 'zod';
import { expiryFrom } from '../auth/key-expiry.ts';
import type { KeyView } from '../dashboard-wire.ts';
import { BUDGET_PERIODS, type BudgetPeriodKind } from '../metering/budget-period.ts';
import { microToUsd, usdToMicro } from '../metering/pricing.ts';
import { budgetStates } from './key-budgets.ts';
import { rows, type Queryable } from './sql.ts';

export interface KeyRecord {
  id: string;
  name: string;
  prefix: string;
  hash: string;
  balanceMicro: number | null;
  trialTokens: number | null;
  rpm: number | null;
  models: string[] | null;
  revoked: boolean;
  createdAt: number;
  /** Micro-USD per budget period; null: no budget. */
  budgetMicro: number | null;
  budgetPeriod: BudgetPeriodKind | null;
  tpm: number | null;
  /** Epoch ms of the first instant the key no longer works. */
  expiresAt: number | null;
  /** Filled in by listKeys/getKey (never on the hot path): the current period's spend, the newest usage row. */
  budgetSpentMicro?: number;
  budgetResetsAt?: number;
  lastUsedAt?: number | null;
}

export type { KeyView };

export const KEY_PREFIX = 'sk-sy-';

/** The limits `keys create`, `keys update` and the admin API share; null clears one on update. */
const limitFields = {
  rpm: z.number().int().positive().max(1e9).nullish(),
  tpm: z.number().int().positive().max(1e12).nullish(),
  models: z.array(z.string().trim().min(1).max(300)).max(100).nullish(),
  budget_usd: z.number().finite().min(0).max(1e9).nullish(),
  budget_period: z.enum(BUDGET_PERIODS).nullish(),
  /** A date (works through that day, UTC), an ISO time, `30d`, or epoch ms; null: never expires. */
  expires_at: z.union([z.string().max(64), z.number().int().positive()]).nullish(),
};

/** Input of `keys create` and `POST /admin/keys`, validated the same way for both. */
export const keyCreateSchema = z.strictObject({
  name: z.string().trim().min(1, 'name is required').max(200),
  credits_usd: z.number().finite().min(0).max(1e9).nullish(),
  trial_tokens: z.number().int().positive().max(1e12).nullish(),
  ...limitFields,
});
export type KeyCreateInput = z.input<typeof keyCreateSchema>;

/** Input of `keys update` and `PATCH /admin/keys/:id`: only the fields given change. */
export const keyUpdateSchema = z.strictObject({ name: z.string().trim().min(1).max(200).optional(), ...limitFields });
export type KeyUpdateInput = z.input<typeof keyUpdateSchema>;

/** An expiry as given (text or epoch ms) → epoch ms; a bad one is a zod-style error the callers turn into 400 / exit 2. */
export function expiresAtFrom(value: string | number | null | undefined, now: number): number | null | undefined {
  if (value === undefined || value === null) return value;
  return typeof value === 'number' ? value : expiryFrom(value, now);
}

/** Every call presents its key: the one-shot `hash` makes no Hash object, two and a half times cheaper than createHash. */
export function hashKey(secret: string): string {
  return hash('sha256', secret, 'hex');
}

const ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

function base62(bytes: Buffer): string {
  let value = BigInt(`0x${bytes.toString('hex')}`);
  let out = '';
  while (value > 0n) {
    out = ALPHABET[Number(value % 62n)] + out;
    value /= 62n;
  }
  return out;
}

function newSecret(): string {
  return KEY_PREFIX + base62(randomBytes(32)).padStart(43, '0');
}

function newKeyId(): string {
  return `key_${base62(randomBytes(10)).padStart(14, '0')}`;
}

interface KeyRow {
  /** Held in instances' leases: still the key's money until spent (see metering/ledger.ts). */
  leased_micro?: number | string | null;
  leased_tokens?: number | string | null;
  id: string;
  name: string;
  prefix: string;
  hash: string;
  balance_micro: number | null;
  trial_tokens: number | null;
  rpm: number | null;
  models: string | null;
  revoked: boolean | number;
  created_at: number;
  budget_micro?: number | string | null;
  budget_period?: string | null;
  tpm?: number | null;
  expires_at?: number | string | null;
  last_used_at?: number | string | null;
}

const numberOrNull = (value: number | string | null | undefined): number | null => (value === null || value === undefined ? null : Number(value));
const isoOrNull = (ms: number | null | undefined): string | null => (ms === null || ms === undefined ? null : new Date(ms).toISOString());

function fromRow(row: KeyRow): KeyRecord {
  return {
    id: row.id,
    name: row.name,
    prefix: row.prefix,
    hash: row.hash,
    balanceMicro: row.balance_micro === null ? null : Number(row.balance_micro) + Number(row.leased_micro ?? 0),
    trialTokens: row.trial_tokens === null ? null : Number(row.trial_tokens) + Number(row.leased_tokens ?? 0),
    rpm: row.rpm,
    models: row.models ? (JSON.parse(row.models) as string[]) : null,
    revoked: Boolean(row.revoked),
    createdAt: Number(row.created_at),
    budgetMicro: numberOrNull(row.budget_micro),
    budgetPeriod: row.budget_micro === null || row.budget_micro === undefined ? null : ((row.budget_period ?? 'month') as BudgetPeriodKind),
    tpm: row.tpm ?? null,
    expiresAt: numberOrNull(row.expires_at),
    ...(row.last_used_at !== undefined ? { lastUsedAt: numberOrNull(row.last_used_at) } : {}),
  };
}

export function keyView(record: KeyRecord): KeyView {
  return {
    id: record.id,
    name: record.name,
    prefix: record.prefix,
    balance_usd: record.balanceMicro === null ? null : microToUsd(record.balanceMicro),
    trial_tokens_remaining: record.trialTokens,
    rpm: record.rpm,
    models: record.models,
    revoked: record.revoked,
    created_at: new Date(record.createdAt).toISOString(),
    budget_usd: record.budgetMicro === null ? null : microToUsd(record.budgetMicro),
    budget_period: record.budgetPeriod,
    budget_spent_usd: record.budgetMicro === null ? null : microToUsd(record.budgetSpentMicro ?? 0),
    budget_resets_at: record.budgetMicro === null ? null : isoOrNull(record.budgetResetsAt),
    tpm: record.tpm,
    expires_at: isoOrNull(record.expiresAt),
    last_used_at: isoOrNull(record.lastUsedAt),
  };
}

/** Creates a key and, when it has credits, their grant in the ledger, in one transaction. Returns the secret once. */
export async function createKey(db: Queryable, input: KeyCreateInput, now = Date.now()): Promise<{ record: KeyRecord; secret: string }> {
  const valid = keyCreateSchema.parse(input);
  if (valid.budget_period != null && valid.budget_usd == null) throw new RangeError('budget_period needs budget_usd');
  const expiresAt = expiresAtFrom(valid.expires_at, now) ?? null;
  const secret = newSecret();
  const creditsMicro = valid.credits_usd == null ? null : usdToMicro(valid.credits_usd);
  const row: KeyRow = {
    id: newKeyId(),
    name: valid.name,
    prefix: `${secret.slice(0, KEY_PREFIX.length + 4)}…`,
    hash: hashKey(secret),
    balance_micro: creditsMicro,
    trial_tokens: valid.trial_tokens ?? null,
    rpm: valid.rpm ?? null,
    models: valid.models?.length ? JSON.stringify(valid.models) : null,
    revoked: false,
    created_at: now,
    budget_micro: valid.budget_usd == null ? null : usdToMicro(valid.budget_usd),
    budget_period: valid.budget_usd == null ? null : (valid.budget_period ?? 'month'),
    tpm: valid.tpm ?? null,
    expires_at: expiresAt,
  };
  await db.transaction(async (trx) => {
    await trx('api_keys').insert(row);
    if (creditsMicro) await trx('credit_ledger').insert({ key_id: row.id, kind: 'grant', amount_micro: creditsMicro, created_at: now });
  });
  const record = fromRow(row);
  return { record: { ...record, lastUsedAt: null, ...(await withBudgets(db, [record], now))[0] }, secret };
}

/**
 * Keys with what their leases hold added back (the balance a user sees is what is not yet spent; leases of an
 * unmetered key's budget never took from a balance), and when each was last used (its newest usage row, found
 * through the (key_id, created_at) index).
 */
function selectKeys(db: Queryable) {
  return db<KeyRow>('api_keys').select(
    'api_keys.*',
    db.raw(
      '(SELECT COALESCE(SUM(amount_micro), 0) FROM reservations WHERE reservations.key_id = api_keys.id AND reservations.from_balance = ?) AS leased_micro',
      [true],
    ),
    db.raw('(SELECT COALESCE(SUM(tokens), 0) FROM reservations WHERE reservations.key_id = api_keys.id) AS leased_tokens'),
    db.raw('(SELECT MAX(created_at) FROM usage WHERE usage.key_id = api_keys.id) AS last_used_at'),
  );
}

/** Fills in each budgeted key's spend and reset time in the period `now` falls in. */
async function withBudgets(db: Queryable, records: KeyRecord[], now: number): Promise<KeyRecord[]> {
  const states = await budgetStates(db, records, now);
  return records.map((record) => {
    const state = states.get(record.id);
    return state ? { ...record, budgetSpentMicro: state.spentMicro, budgetResetsAt: state.resetsAt } : record;
  });
}

export async function listKeys(db: Queryable, now = Date.now()): Promise<KeyRecord[]> {
  return withBudgets(db, ((await selectKeys(db).orderBy('created_at', 'asc')) as KeyRow[]).map(fromRow), now);
}

export async function getKey(db: Queryable, id: string, now = Date.now()): Promise<KeyRecord | undefined> {
  const row = (await selectKeys(db).where({ id }).first()) as KeyRow | undefined;
  return row ? (await withBudgets(db, [fromRow(row)], now))[0] : undefined;
}

/**
 * Changes a live key's name and limits; fields left out stay, null clears one. A budget period given alone applies
 * to the key's budget. Returns undefined when no such key exists. Instances see the change within their key cache
 * TTL (at most 10 seconds).
 */
export async function updateKey(db: Queryable, id: string, input: KeyUpdateInput, now = Date.now()): Promise<KeyRecord | undefined> {
  const valid = keyUpdateSchema.parse(input);
  const changes: Record<string, unknown> = {};
  if (valid.name !== undefined) changes.name = valid.name;
  if (valid.rpm !== undefined) changes.rpm = valid.rpm;
  if (valid.tpm !== undefined) changes.tpm = valid.tpm;
  if (valid.models !== undefined) changes.models = valid.models?.length ? JSON.stringify(valid.models) : null;
  if (valid.budget_usd !== undefined) changes.budget_micro = valid.budget_usd === null ? null : usdToMicro(valid.budget_usd);
  if (valid.budget_period !== undefined) changes.budget_period = valid.budget_period;
  if (valid.budget_usd === null) changes.budget_period = null;
  else if (valid.budget_usd !== undefined && valid.budget_period === undefined) changes.budget_period = db.raw("COALESCE(budget_period, 'month')");
  if (valid.expires_at !== undefined) changes.expires_at = expiresAtFrom(valid.expires_at, now);
  if (Object.keys(changes).length > 0) {
    const changed = await db('api_keys').where({ id }).update(changes);
    if (changed === 0) return undefined;
  }
  return getKey(db, id, now);
}

/** The hot-path lookup: the balance is not needed here (reservations decide), so no lease sums. */
export async function findKeyByHash(db: Queryable, hash: string): Promise<KeyRecord | undefined> {
  const row = await db<KeyRow>('api_keys').where({ hash }).first();
  return row ? fromRow(row) : undefined;
}

/** Revokes a key; false when no such key exists. */
export async function revokeKey(db: Queryable, id: string): Promise<boolean> {
  const changed = await rows<{ id: string }>(db, 'UPDATE api_keys SET revoked = ?, revoked_at = ? WHERE id = ? RETURNING id', [true, Date.now(), id]);
  return changed.length > 0;
}

/** Tops a key up: balance and ledger grant in one transaction. An unmetered key becomes a metered one. */
export async function addCredits(db: Queryable, id: string, usd: number): Promise<KeyRecord | undefined> {
  if (!Number.isFinite(usd) || usd <= 0 || usd > 1e9) throw new RangeError('credits must be a positive number of USD');
  const micro = usdToMicro(usd);
  if (micro <= 0) throw new RangeError('credits must be at least one micro-dollar (0.000001 USD)');
  return db.transaction(async (trx) => {
    const changed = await rows<{ id: string }>(trx, 'UPDATE api_keys SET balance_micro = COALESCE(balance_micro, 0) + ? WHERE id = ? RETURNING id', [
      micro,
      id,
    ]);
    if (changed.length === 0) return undefined;
    await trx('credit_ledger').insert({ key_id: id, kind: 'grant', amount_micro: micro, created_at: Date.now() });
    return getKey(trx, id);
  });
}
