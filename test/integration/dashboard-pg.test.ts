/**
 * The dashboard's reads on PostgreSQL: hourly aggregates equal the rows, and the overview, keyset pages (plain and
 * by status class), CSV and a key owner's pages answer as on SQLite.
 */
import assert from 'node:assert/strict';
import type { APIError } from 'openai';
import { ADMIN_TOKEN } from '../helpers/dashboard.ts';
import { HF_KEY, hfEntry, startGateway, usageMark, type TestGateway } from '../helpers/gateway.ts';
import { startMock, type MockUpstream } from '../helpers/mock-upstream.ts';
import { createPgDatabase, requireService } from '../helpers/services.ts';

const LLAMA = 'meta-llama/Llama-3.1-8B-Instruct';
const HI = [{ role: 'user' as const, content: 'Hi' }];

describe('dashboard data on PostgreSQL', () => {
  let hf: MockUpstream;
  let gateway: TestGateway;
  let database: Awaited<ReturnType<typeof createPgDatabase>> | undefined;

  before(async function () {
    await requireService(this, 'postgres');
    database = await createPgDatabase();
    hf = await startMock({ flavor: 'hf', apiKey: HF_KEY });
    gateway = await startGateway({
      providers: { huggingface: hfEntry(hf.url) },
      config: { admin: { token: ADMIN_TOKEN }, database: { client: 'pg', connection: database.url, pool_max: 5 } },
    });
  });

  after(async () => {
    await gateway?.close();
    await hf?.close();
    await database?.drop();
  });

  const admin = async <T>(path: string): Promise<T> => {
    const response = await fetch(`${gateway.url}${path}`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
    assert.equal(response.status, 200, path);
    return (path.includes('/export') ? await response.text() : await response.json()) as T;
  };

  it('answers the overview, pages, CSV and owner pages from the aggregates and rows', async () => {
    const { secret } = await gateway.createKey({ name: 'pg-key', credits_usd: 3 });
    const client = gateway.client(secret);
    for (let i = 0; i < 4; i++) await client.chat.completions.create({ model: LLAMA, messages: HI });
    for (let i = 0; i < 2; i++)
      await assert.rejects(client.chat.completions.create({ model: 'org/html-500', messages: HI }), (error: APIError) => error.status === 502);
    await usageMark(gateway);
    const db = gateway.running.deps.db;
    const rows = await db('usage').select();
    const hourly = await db('usage_hourly').select();
    assert.deepEqual(
      hourly.map((row) => [Number(row.status_class), Number(row.requests), Number(row.cost_micro)]).sort(),
      [
        [2, 4, rows.filter((row) => row.status === 200).reduce((sum, row) => sum + Number(row.cost_micro), 0)],
        [5, 2, 0],
      ].sort(),
    );
    const overview = await admin<{ totals: { requests: number; errors: number }; requests_per_hour: { series: { status: string; requests: number[] }[] } }>(
      '/admin/overview?range=24h',
    );
    assert.deepEqual([overview.totals.requests, overview.totals.errors], [6, 2]);
    assert.equal(overview.requests_per_hour.series.find((entry) => entry.status === '5xx')!.requests.at(-1), 2);
    assert.equal((await admin<{ totals: { requests: number } }>('/admin/overview?range=30d')).totals.requests, 6);

    const ids: number[] = [];
    let before: string | null = null;
    do {
      const page: { data: { id: number }[]; next_before: string | null } = await admin(`/admin/usage/rows?limit=4${before ? `&before=${before}` : ''}`);
      ids.push(...page.data.map((row) => row.id));
      before = page.next_before;
    } while (before);
    assert.deepEqual(
      ids,
      rows.map((row) => Number(row.id)).sort((a, b) => b - a),
    );
    const failed = await admin<{ data: { status: number }[] }>('/admin/usage/rows?status=5xx&limit=1');
    assert.deepEqual(
      failed.data.map((row) => row.status),
      [502],
    );
    const csv = await admin<string>('/admin/usage/export?status=2xx');
    assert.equal(csv.trimEnd().split('\r\n').length, 5);
    const facets = await admin<{ models: string[] }>('/admin/usage/facets');
    assert.deepEqual(facets.models, [LLAMA, 'org/html-500']);
    const owner = await (await fetch(`${gateway.url}/v1/usage/requests?limit=50`, { headers: { authorization: `Bearer ${secret}` } })).json();
    assert.equal((owner as { data: unknown[] }).data.length, 6);
  });
});
