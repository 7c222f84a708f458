/**
 * The dashboard's reads on a large usage table: hourly aggregates by status class (requests per hour, the last
 * 24 hours' totals) kept in the same transaction as the rows, and indexes that serve the usage page's newest-first
 * filters by model and by provider from the index alone, however rare the value.
 */
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('usage_hourly', (table) => {
    // Hours since the epoch (created_at / 3600000), UTC.
    table.bigInteger('hour').notNullable();
    // status / 100: 2, 3, 4 or 5.
    table.smallint('status_class').notNullable();
    table.bigInteger('requests').notNullable().defaultTo(0);
    table.bigInteger('prompt_tokens').notNullable().defaultTo(0);
    table.bigInteger('completion_tokens').notNullable().defaultTo(0);
    table.bigInteger('cost_micro').notNullable().defaultTo(0);
    table.primary(['hour', 'status_class']);
  });
  // Existing rows start with aggregates that match them.
  const hour = knex.client.config.client === 'pg' ? 'created_at / 3600000' : 'CAST(created_at / 3600000 AS INTEGER)';
  const cls = knex.client.config.client === 'pg' ? 'status / 100' : 'CAST(status / 100 AS INTEGER)';
  await knex.raw(`INSERT INTO usage_hourly (hour, status_class, requests, prompt_tokens, completion_tokens, cost_micro)
    SELECT ${hour}, ${cls}, COUNT(*), SUM(prompt_tokens), SUM(completion_tokens), SUM(cost_micro) FROM usage GROUP BY 1, 2`);
  await knex.schema.alterTable('usage', (table) => {
    table.index(['model', 'created_at'], 'usage_model_created_at_index');
    table.index(['provider', 'created_at'], 'usage_provider_created_at_index');
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('usage', (table) => {
    table.dropIndex(['model', 'created_at'], 'usage_model_created_at_index');
    table.dropIndex(['provider', 'created_at'], 'usage_provider_created_at_index');
  });
  await knex.schema.dropTableIfExists('usage_hourly');
}
