/**
 * Daily aggregates of the usage rows, per UTC day, key, model and provider: reports and the dashboard read these
 * instead of scanning millions of rows. The usage writer upserts them in the transaction that inserts the rows, so
 * they always equal the sum of the rows. Key columns hold '' rather than NULL: a primary key (and so the upsert's
 * conflict target) treats NULLs as distinct on both SQLite and PostgreSQL.
 */
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('usage_daily', (table) => {
    table.string('day', 10).notNullable();
    table.string('key_id', 40).notNullable();
    table.string('model', 300).notNullable();
    table.string('provider', 100).notNullable();
    table.bigInteger('requests').notNullable().defaultTo(0);
    table.bigInteger('errors').notNullable().defaultTo(0);
    table.bigInteger('prompt_tokens').notNullable().defaultTo(0);
    table.bigInteger('completion_tokens').notNullable().defaultTo(0);
    table.bigInteger('cost_micro').notNullable().defaultTo(0);
    table.bigInteger('latency_ms_sum').notNullable().defaultTo(0);
    table.bigInteger('ttft_ms_sum').notNullable().defaultTo(0);
    table.bigInteger('ttft_count').notNullable().defaultTo(0);
    table.primary(['day', 'key_id', 'model', 'provider']);
    table.index(['key_id', 'day']);
  });
  // Databases that already hold usage rows start with aggregates that match them.
  const day =
    knex.client.config.client === 'pg'
      ? `to_char(to_timestamp(created_at / 1000) AT TIME ZONE 'UTC', 'YYYY-MM-DD')`
      : `strftime('%Y-%m-%d', created_at / 1000, 'unixepoch')`;
  await knex.raw(`INSERT INTO usage_daily (day, key_id, model, provider, requests, errors, prompt_tokens, completion_tokens, cost_micro, latency_ms_sum, ttft_ms_sum, ttft_count)
    SELECT ${day}, COALESCE(key_id, ''), COALESCE(model, ''), COALESCE(provider, ''), COUNT(*), SUM(CASE WHEN status >= 400 THEN 1 ELSE 0 END),
      SUM(prompt_tokens), SUM(completion_tokens), SUM(cost_micro), SUM(latency_ms), COALESCE(SUM(ttft_ms), 0), COUNT(ttft_ms)
    FROM usage GROUP BY 1, 2, 3, 4`);
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists('usage_daily');
}
