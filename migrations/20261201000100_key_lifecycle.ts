/**
 * Key lifecycle: a budget per calendar period, a tokens-per-minute limit and an expiry on api_keys; the money
 * counted against each key's period in `budget_usage`; and on each lease, which period it counts against and
 * whether its money came off the credit balance (a budget holds on unmetered keys too).
 */
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('api_keys', (table) => {
    // NULL: no budget. Micro-USD per period.
    table.bigInteger('budget_micro').nullable();
    table.string('budget_period', 8).nullable();
    table.integer('tpm').nullable();
    // Epoch ms of the first instant the key no longer works; NULL: never expires.
    table.bigInteger('expires_at').nullable();
  });

  // Per key and period: what leases hold plus what was spent. A lease grows only while this stays within the
  // key's budget_micro, in the same transaction, so no number of instances can spend past it.
  await knex.schema.createTable('budget_usage', (table) => {
    table.string('key_id', 40).notNullable().references('id').inTable('api_keys');
    table.string('period', 16).notNullable();
    table.bigInteger('used_micro').notNullable().defaultTo(0);
    table.primary(['key_id', 'period']);
    table.check('?? >= 0', ['used_micro'], 'budget_usage_used_nonnegative');
  });

  await knex.schema.alterTable('reservations', (table) => {
    table.string('budget_period', 16).nullable();
    table.boolean('from_balance').notNullable().defaultTo(true);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('reservations', (table) => {
    table.dropColumn('budget_period');
    table.dropColumn('from_balance');
  });
  await knex.schema.dropTableIfExists('budget_usage');
  await knex.schema.alterTable('api_keys', (table) => {
    for (const column of ['budget_micro', 'budget_period', 'tpm', 'expires_at']) table.dropColumn(column);
  });
}
