/** Gateway keys: created with 256 random bits, stored only as a SHA-256 hash plus a short display prefix. */
import { createHash, randomBytes } from 'node:crypto';
import { z } from 'zod';
import { microToUsd, usdToMicro } from '../metering/pricing.ts';
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
}

/** What `keys list --json` and the admin API show: never the key or its hash. */
export interface KeyView {
  id: string;
  name: string;
  prefix: string;
  balance_usd: number | null;
  trial_tokens_remaining: number | null;
  rpm: number | null;
  models: string[] | null;
  revoked: boolean;
  created_at: string;
}

export const KEY_PREFIX = 'sk-sy-';

/** Input of `keys create` and `POST /admin/keys`, validated the same way for both. */
export const keyCreateSchema = z.strictObject({
  name: z.string().trim().min(1, 'name is required').max(200),
  credits_usd: z.number().finite().min(0).max(1e9).nullish(),
  trial_tokens: z.number().int().positive().max(1e12).nullish(),
  rpm: z.number().int().positive().max(1e9).nullish(),
  models: z.array(z.string().trim().min(1).max(300)).max(100).nullish(),
});
export type KeyCreateInput = z.input<typeof keyCreateSchema>;

export function hashKey(secret: string): string {
  return createHash('sha256').update(secret).digest('hex');
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
}

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
  };
}

/** Creates a key and, when it has credits, their grant in the ledger, in one transaction. Returns the secret once. */
export async function createKey(db: Queryable, input: KeyCreateInput): Promise<{ record: KeyRecord; secret: string }> {
  const valid = keyCreateSchema.parse(input);
  const secret = newSecret();
  const now = Date.now();
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
  };
  await db.transaction(async (trx) => {
    await trx('api_keys').insert(row);
    if (creditsMicro) await trx('credit_ledger').insert({ key_id: row.id, kind: 'grant', amount_micro: creditsMicro, created_at: now });
  });
  return { record: fromRow(row), secret };
}

/** Keys with what their leases hold added back: the balance a user sees is what is not yet spent. */
function selectKeys(db: Queryable) {
  return db<KeyRow>('api_keys').select(
    'api_keys.*',
    db.raw('(SELECT COALESCE(SUM(amount_micro), 0) FROM reservations WHERE reservations.key_id = api_keys.id) AS leased_micro'),
    db.raw('(SELECT COALESCE(SUM(tokens), 0) FROM reservations WHERE reservations.key_id = api_keys.id) AS leased_tokens'),
  );
}

export async function listKeys(db: Queryable): Promise<KeyRecord[]> {
  return ((await selectKeys(db).orderBy('created_at', 'asc')) as KeyRow[]).map(fromRow);
}

export async function getKey(db: Queryable, id: string): Promise<KeyRecord | undefined> {
  const row = (await selectKeys(db).where({ id }).first()) as KeyRow | undefined;
  return row ? fromRow(row) : undefined;
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
    const changed = await rows<{ id: string }>(trx, 'UPDATE api_keys SET balance_micro = COALESCE(balance_micro, 0) + ? WHERE id = ? RETURNING id', [micro, id]);
    if (changed.length === 0) return undefined;
    await trx('credit_ledger').insert({ key_id: id, kind: 'grant', amount_micro: micro, created_at: Date.now() });
    return getKey(trx, id);
  });
}
