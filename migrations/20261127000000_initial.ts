/** Keys, the credit ledger, open reservations, live instances and usage rows. Money is integer micro-USD. */
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('api_keys', (table) => {
    table.string('id', 40).primary();
    table.string('name', 200).notNullable();
    table.string('prefix', 32).notNullable();
    table.string('hash', 64).notNullable().unique();
    // NULL: not limited by credits. Reservations are taken out of it, so it is what is left to spend.
    table.bigInteger('balance_micro').nullable();
    // NULL: not a trial key.
    table.bigInteger('trial_tokens').nullable();
    table.integer('rpm').nullable();
    table.text('models').nullable();
    table.boolean('revoked').notNullable().defaultTo(false);
    table.bigInteger('created_at').notNullable();
    table.bigInteger('revoked_at').nullable();
    // The database itself refuses a negative balance, whatever the application does.
    table.check('?? >= 0', ['balance_micro'], 'api_keys_balance_nonnegative');
    table.check('?? >= 0', ['trial_tokens'], 'api_keys_trial_nonnegative');
  });

  await knex.schema.createTable('credit_ledger', (table) => {
    table.increments('id').primary();
    table.string('key_id', 40).notNullable().references('id').inTable('api_keys');
    table.string('kind', 16).notNullable();
    table.bigInteger('amount_micro').notNullable();
    table.string('request_id', 64).nullable();
    table.bigInteger('created_at').notNullable();
    table.index(['key_id']);
  });

  await knex.schema.createTable('reservations', (table) => {
    table.string('id', 64).primary();
    table.string('key_id', 40).notNullable().references('id').inTable('api_keys');
    table.bigInteger('amount_micro').notNullable().defaultTo(0);
    table.bigInteger('tokens').notNullable().defaultTo(0);
    table.string('instance_id', 40).notNullable();
    table.bigInteger('expires_at').notNullable();
    table.bigInteger('created_at').notNullable();
    table.index(['instance_id']);
    table.index(['expires_at']);
  });

  await knex.schema.createTable('instances', (table) => {
    table.string('id', 40).primary();
    table.bigInteger('started_at').notNullable();
    table.bigInteger('heartbeat_at').notNullable();
  });

  await knex.schema.createTable('usage', (table) => {
    table.bigIncrements('id').primary();
    table.string('request_id', 64).notNullable().unique();
    table.string('key_id', 40).nullable();
    table.string('endpoint', 32).notNullable();
    table.string('provider', 100).nullable();
    table.string('model', 300).nullable();
    table.integer('prompt_tokens').notNullable().defaultTo(0);
    table.integer('completion_tokens').notNullable().defaultTo(0);
    table.bigInteger('cost_micro').notNullable().defaultTo(0);
    table.integer('status').notNullable();
    table.string('error_code', 64).nullable();
    table.integer('latency_ms').notNullable();
    table.integer('ttft_ms').nullable();
    table.boolean('stream').notNullable().defaultTo(false);
    table.boolean('estimated').notNullable().defaultTo(false);
    table.integer('attempts').notNullable().defaultTo(1);
    table.bigInteger('created_at').notNullable();
    table.index(['key_id', 'created_at']);
    table.index(['created_at']);
  });
}

export async function down(knex: Knex): Promise<void> {
  for (const table of ['usage', 'instances', 'reservations', 'credit_ledger', 'api_keys']) await knex.schema.dropTableIfExists(table);
}
