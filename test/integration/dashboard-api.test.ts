/**
 * The dashboard's JSON and CSV: overview sums equal the traffic sent, usage pages walk every row once newest first,
 * filters and CSV agree, a key owner sees only their own rows, and /ui carries a CSP that forbids inline scripts.
 */
import assert from 'node:assert/strict';
import type { APIError } from 'openai';
import { csvCell } from '../../src/db/usage-page.ts';
import { buildUi } from '../../ui/build.mjs';
import type { UsageRow } from '../../src/metering/usage-writer.ts';
import { fakeUsageRow } from '../helpers/usage-rows.ts';
import { microToUsd } from '../../src/metering/pricing.ts';
import { ADMIN_TOKEN, startDashboardGateway, type DashboardGateway } from '../helpers/dashboard.ts';
import { HF_KEY, hfEntry, startGateway, usageMark } from '../helpers/gateway.ts';

const LLAMA = 'meta-llama/Llama-3.1-8B-Instruct';
const HI = [{ role: 'user' as const, content: 'Hi' }];
const DAY_MS = 86_400_000;

interface Page {
  data: { id: number; request_id: string; status: number; model: string; key_id: string; created_at: string; cost_usd: number; provider: string }[];
  next_before: string | null;
}

/** Rows written straight through the usage writer, as the gateway writes them, at chosen times in the past. */
function pastRow(keyId: string, createdAt: number, i: number, over: Partial<UsageRow> = {}): UsageRow {
  return fakeUsageRow({
    request_id: `req_past_${createdAt}_${i}`,
    key_id: keyId,
    provider: 'huggingface',
    model: LLAMA,
    prompt_tokens: 10,
    completion_tokens: 5,
    cost_micro: 1000,
    latency_ms: 100 + i,
    created_at: createdAt,
    ...over,
  });
}

describe('dashboard data endpoints', () => {
  let d: DashboardGateway;
  let admin: (path: string) => Promise<Response>;
  let keyA: { secret: string; record: { id: string } };
  let keyB: { secret: string; record: { id: string } };

  before(async () => {
    d = await startDashboardGateway();
    admin = (path) => fetch(`${d.gateway.url}${path}`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
    keyA = await d.gateway.createKey({ name: 'alpha', credits_usd: 5 });
    keyB = await d.gateway.createKey({ name: 'beta' });
  });

  after(async () => {
    await d?.close();
  });

  it('builds the bundle once: a second build of unchanged sources does nothing', async () => {
    assert.equal(await buildUi(), 'fresh');
  });

  it('serves /ui with a CSP that forbids inline scripts and styles, and hashed assets cached for a year', async () => {
    const page = await fetch(`${d.gateway.url}/ui`);
    assert.equal(page.status, 200);
    const csp = page.headers.get('content-security-policy') ?? '';
    assert.match(csp, /script-src 'self'(;|$)/);
    assert.match(csp, /style-src 'self'(;|$)/);
    assert.match(csp, /default-src 'none'/);
    assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval|https?:/);
    assert.equal(page.headers.get('x-content-type-options'), 'nosniff');
    const html = await page.text();
    assert.doesNotMatch(html, /<script(?![^>]*\bsrc=)[^>]*>/, 'no inline script');
    assert.doesNotMatch(html, /<style|style=/, 'no inline style');
    const script = /src="(\/ui\/assets\/main-[A-Z0-9]+\.js)"/.exec(html)?.[1];
    assert.ok(script, html);
    const asset = await fetch(`${d.gateway.url}${script}`);
    assert.equal(asset.status, 200);
    assert.match(asset.headers.get('cache-control') ?? '', /max-age=31536000.*immutable/);
    assert.match(asset.headers.get('content-type') ?? '', /javascript/);
    assert.equal((await fetch(`${d.gateway.url}/ui/assets/nope.js`)).status, 404);
  });

  it('refuses the operator endpoints without the admin token, and a gateway key on them', async () => {
    for (const path of ['/admin/overview', '/admin/usage/rows', '/admin/usage/export', '/admin/usage/facets', '/admin/providers']) {
      assert.equal((await fetch(`${d.gateway.url}${path}`)).status, 401, path);
      assert.equal((await fetch(`${d.gateway.url}${path}`, { headers: { authorization: `Bearer ${keyA.secret}` } })).status, 401, path);
    }
  });

  it('overview totals, error rate and medians equal the requests just sent', async () => {
    const client = d.gateway.client(keyA.secret);
    for (let i = 0; i < 3; i++) await client.chat.completions.create({ model: LLAMA, messages: HI });
    const stream = await client.chat.completions.create({ model: 'gpt-4o-mini', messages: HI, stream: true });
    for await (const _chunk of stream);
    await assert.rejects(client.chat.completions.create({ model: 'org/loading', messages: HI }), (error: APIError) => error.status === 503);
    await usageMark(d.gateway);
    const rows = await d.gateway.running.deps.db('usage').select();
    assert.equal(rows.length, 5);
    const overview = (await (await admin('/admin/overview?range=24h')).json()) as Record<string, unknown>;
    const costMicro = rows.reduce((sum, row) => sum + Number(row.cost_micro), 0);
    assert.deepEqual(overview.totals, {
      requests: 5,
      errors: 1,
      error_rate: 0.2,
      prompt_tokens: rows.reduce((sum, row) => sum + row.prompt_tokens, 0),
      completion_tokens: rows.reduce((sum, row) => sum + row.completion_tokens, 0),
      cost_usd: microToUsd(costMicro),
    });
    const answered = rows
      .filter((row) => row.status < 400)
      .map((row) => row.latency_ms)
      .sort((a, b) => a - b);
    assert.equal(overview.p50_latency_ms, Math.round((answered[1] + answered[2]) / 2));
    assert.equal(overview.p50_ttft_ms, rows.find((row) => row.ttft_ms !== null)!.ttft_ms);
    assert.equal(overview.sample_rows, 5);
    const spend = overview.spend_per_day as { days: string[]; series: { model: string; cost_usd: number[] }[] };
    assert.equal(spend.days.at(-1), new Date().toISOString().slice(0, 10));
    assert.deepEqual(spend.series.map((entry) => entry.model).sort(), ['gpt-4o-mini', LLAMA]);
    assert.equal(Math.round(spend.series.reduce((sum, entry) => sum + entry.cost_usd.at(-1)! * 1e6, 0)), costMicro);
    const perHour = overview.requests_per_hour as { hours: string[]; series: { status: string; requests: number[] }[] };
    assert.equal(perHour.hours.length, 24);
    assert.deepEqual(Object.fromEntries(perHour.series.map((entry) => [entry.status, entry.requests.at(-1)])), { '2xx': 4, '4xx': 0, '5xx': 1 });
    const breakdown = overview.breakdown as { by_key: Record<string, unknown>[]; by_model: Record<string, unknown>[] };
    assert.deepEqual(
      breakdown.by_key.map((entry) => [entry.name, entry.requests, entry.errors, entry.cost_usd]),
      [['alpha', 5, 1, microToUsd(costMicro)]],
    );
    assert.equal(breakdown.by_key[0].avg_latency_ms, Math.round(rows.reduce((sum, row) => sum + row.latency_ms, 0) / 5));
    const streamed = rows.find((row) => row.ttft_ms !== null)!;
    assert.deepEqual(
      breakdown.by_model.find((entry) => entry.model === 'gpt-4o-mini'),
      {
        model: 'gpt-4o-mini',
        requests: 1,
        errors: 0,
        cost_usd: microToUsd(Number(streamed.cost_micro)),
        avg_latency_ms: streamed.latency_ms,
        avg_ttft_ms: streamed.ttft_ms,
      },
    );
    assert.deepEqual(
      breakdown.by_model.map((entry) => entry.model),
      [LLAMA, 'gpt-4o-mini', 'org/loading'],
      'by spend, then requests',
    );
    // Longer ranges read whole days of aggregates: the same sums today.
    const week = (await (await admin('/admin/overview?range=7d')).json()) as { totals: unknown; spend_per_day: { days: string[] } };
    assert.deepEqual(week.totals, overview.totals);
    assert.equal(week.spend_per_day.days.length, 7);
    assert.equal((await admin('/admin/overview?range=1y')).status, 400);
  });

  it('pages usage newest first by keyset: every row once, filters by status class, model, key and dates', async () => {
    const now = Date.now();
    const writer = d.gateway.running.deps.writer;
    for (let i = 0; i < 120; i++)
      writer.enqueue({
        row: pastRow(keyB.record.id, now - 3 * DAY_MS + i, i, i % 10 === 0 ? { status: 429, error_code: 'rate_limit_exceeded', cost_micro: 0 } : {}),
      });
    for (let i = 0; i < 7; i++) writer.enqueue({ row: pastRow(keyB.record.id, now - 10 * DAY_MS + i, 1000 + i, { model: 'gpt-4o-mini', provider: 'openai' }) });
    await writer.flush();
    const all = (
      await d.gateway.running.deps
        .db('usage')
        .select('id')
        .orderBy([
          { column: 'created_at', order: 'desc' },
          { column: 'id', order: 'desc' },
        ])
    ).map((row) => Number(row.id));
    const seen: number[] = [];
    let before: string | null | undefined;
    do {
      const page = (await (await admin(`/admin/usage/rows?limit=50${before ? `&before=${before}` : ''}`)).json()) as Page;
      assert.ok(page.data.length <= 50);
      seen.push(...page.data.map((row) => row.id));
      before = page.next_before;
    } while (before);
    assert.deepEqual(seen, all);

    const limited = (await (await admin('/admin/usage/rows?status=4xx&limit=500')).json()) as Page;
    assert.equal(limited.data.length, 12);
    assert.ok(limited.data.every((row) => row.status === 429));
    const errors = (await (await admin('/admin/usage/rows?status=error&limit=500')).json()) as Page;
    assert.equal(errors.data.length, 13);
    const byModel = (await (await admin(`/admin/usage/rows?model=gpt-4o-mini&key_id=${keyB.record.id}&limit=500`)).json()) as Page;
    assert.equal(byModel.data.length, 7);
    const tenDaysAgo = new Date(now - 10 * DAY_MS).toISOString().slice(0, 10);
    const sameDay = (await (await admin(`/admin/usage/rows?since=${tenDaysAgo}&until=${tenDaysAgo}&limit=500`)).json()) as Page;
    assert.equal(sameDay.data.length, 7, 'a date in until means through that whole UTC day');
    // A status class pages through the hourly aggregates' window: every matching row once, across pages.
    const pagedErrors: number[] = [];
    before = undefined;
    do {
      const page = (await (await admin(`/admin/usage/rows?status=error&limit=5${before ? `&before=${before}` : ''}`)).json()) as Page;
      pagedErrors.push(...page.data.map((row) => row.id));
      before = page.next_before;
    } while (before);
    assert.deepEqual(
      pagedErrors,
      errors.data.map((row) => row.id),
    );
    const sums = await d.gateway.running.deps.db('usage_hourly').sum({ requests: 'requests', cost: 'cost_micro' }).first();
    const rowSums = await d.gateway.running.deps.db('usage').count({ requests: '*' }).sum({ cost: 'cost_micro' }).first();
    assert.deepEqual([Number(sums!.requests), Number(sums!.cost)], [Number(rowSums!.requests), Number(rowSums!.cost)], 'hourly aggregates equal the rows');
    assert.equal((await admin('/admin/usage/rows?status=teapot')).status, 400);
    assert.equal((await admin('/admin/usage/rows?before=12')).status, 400);
    assert.equal((await admin('/admin/usage/rows?limit=100000')).status, 400);
  });

  it('exports the filtered rows as CSV: the same rows as the pages, newest first, with key names', async () => {
    const response = await admin(`/admin/usage/export?key_id=${keyB.record.id}&status=2xx`);
    assert.equal(response.status, 200);
    assert.match(response.headers.get('content-type') ?? '', /^text\/csv/);
    assert.match(response.headers.get('content-disposition') ?? '', /attachment; filename="switchyard-usage-\d{4}-\d{2}-\d{2}\.csv"/);
    const lines = (await response.text()).trimEnd().split('\r\n');
    assert.equal(
      lines[0],
      'created_at,request_id,key_id,key_name,endpoint,provider,model,status,error_code,prompt_tokens,completion_tokens,cost_usd,latency_ms,ttft_ms,stream,attempts',
    );
    const page = (await (await admin(`/admin/usage/rows?key_id=${keyB.record.id}&status=2xx&limit=500`)).json()) as Page;
    assert.equal(lines.length - 1, page.data.length);
    assert.equal(page.data.length, 115);
    assert.deepEqual(
      lines.slice(1).map((line) => line.split(',')[1]),
      page.data.map((row) => row.request_id),
    );
    const first = lines[1].split(',');
    assert.equal(first[3], 'beta');
    assert.equal(first[11], String(page.data[0].cost_usd));
  });

  it('quotes CSV cells and defuses spreadsheet formulas in text', () => {
    assert.equal(csvCell('a,b'), '"a,b"');
    assert.equal(csvCell('say "hi"'), '"say ""hi"""');
    assert.equal(csvCell('=HYPERLINK("x")'), `"'=HYPERLINK(""x"")"`);
    assert.equal(csvCell('@cmd'), "'@cmd");
    assert.equal(csvCell(-3), '-3');
    assert.equal(csvCell(null), '');
  });

  it("lists filter choices, and the providers page's entries (plugin, models, whether the key is set, never the key)", async () => {
    const facets = (await (await admin('/admin/usage/facets')).json()) as { models: string[]; providers: string[] };
    assert.deepEqual(facets.models, ['gpt-4o-mini', LLAMA, 'org/loading']);
    assert.deepEqual(facets.providers, ['openai', 'huggingface', 'local']);
    const body = await (await admin('/admin/providers')).text();
    assert.equal(body.includes(HF_KEY), false);
    const providers = (JSON.parse(body) as { data: Record<string, unknown>[] }).data;
    assert.deepEqual(
      providers.map((entry) => [entry.name, entry.plugin, entry.key_configured]),
      [
        ['openai', 'openai', true],
        ['huggingface', 'huggingface', true],
        ['local', 'openai-compatible', false],
      ],
    );
    assert.deepEqual(providers[1].models, ['*/*']);
  });

  it('shows a key owner their own spend per day and requests, and nobody else’s', async () => {
    const owner = (path: string, secret = keyA.secret) => fetch(`${d.gateway.url}${path}`, { headers: { authorization: `Bearer ${secret}` } });
    const requests = (await (await owner('/v1/usage/requests?limit=200')).json()) as Page;
    assert.equal(requests.data.length, 5);
    assert.ok(requests.data.every((row) => row.key_id === keyA.record.id));
    assert.deepEqual(
      requests.data.map((row) => row.created_at),
      [...requests.data.map((row) => row.created_at)].sort().reverse(),
    );
    const daily = (await (await owner('/v1/usage/daily?days=7')).json()) as { days: string[]; series: { model: string; cost_usd: number[] }[] };
    assert.equal(daily.days.length, 7);
    assert.deepEqual(daily.series.map((entry) => entry.model).sort(), ['gpt-4o-mini', LLAMA]);
    const beta = (await (await owner('/v1/usage/requests?limit=200', keyB.secret)).json()) as Page;
    assert.equal(beta.data.length, 127);
    assert.equal((await fetch(`${d.gateway.url}/v1/usage/requests`)).status, 401);
    assert.equal((await owner('/v1/usage/requests?key_id=other')).status, 400);
  });
});

describe('dashboard without an admin token', () => {
  it('still serves /ui (key owners sign in with their key) while the operator endpoints stay off', async () => {
    const gateway = await startGateway({ providers: { huggingface: hfEntry('http://127.0.0.1:9') } });
    try {
      assert.equal((await fetch(`${gateway.url}/ui`)).status, 200);
      assert.equal((await fetch(`${gateway.url}/admin/overview`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } })).status, 404);
      assert.equal((await fetch(`${gateway.url}/admin/providers`)).status, 404);
    } finally {
      await gateway.close();
    }
  });
});
