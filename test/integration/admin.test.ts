/** The admin API: off without ADMIN_TOKEN, constant-time token check, keys and credits and usage as docs/endpoints.md says. */
import assert from 'node:assert/strict';
import { HF_KEY, hfEntry, startGateway, type TestGateway } from '../helpers/gateway.ts';
import { startMock, type MockUpstream } from '../helpers/mock-upstream.ts';

const TOKEN = 'admin-test-token-0123456789';

describe('admin API', () => {
  let hf: MockUpstream;
  let gateway: TestGateway;
  let closed: TestGateway;

  before(async () => {
    hf = await startMock({ flavor: 'hf', apiKey: HF_KEY });
    gateway = await startGateway({ providers: { huggingface: hfEntry(hf.url) }, config: { admin: { token: TOKEN } } });
    closed = await startGateway({ providers: { huggingface: hfEntry(hf.url) } });
  });

  after(async () => {
    await gateway.close();
    await closed.close();
    await hf.close();
  });

  const admin = (path: string, init: RequestInit = {}, token = TOKEN) =>
    fetch(`${gateway.url}/admin${path}`, { ...init, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', ...init.headers } });

  it('answers 404 on every admin route when admin.token is empty', async () => {
    for (const [method, path] of [
      ['GET', '/admin/keys'],
      ['POST', '/admin/keys'],
      ['GET', '/admin/usage'],
      ['DELETE', '/admin/keys/x'],
      ['POST', '/admin/keys/x/credits'],
    ]) {
      const response = await fetch(`${closed.url}${path}`, { method, headers: { authorization: `Bearer ${TOKEN}` } });
      assert.equal(response.status, 404, `${method} ${path}`);
    }
  });

  it('answers 401 without the right token', async () => {
    assert.equal((await admin('/keys', {}, 'wrong-token')).status, 401);
    assert.equal((await fetch(`${gateway.url}/admin/keys`)).status, 401);
  });

  it('creates a key (201, the key shown once), lists it without the secret, tops it up and revokes it', async () => {
    const created = await admin('/keys', { method: 'POST', body: JSON.stringify({ name: 'team-a', credits_usd: 2.5, rpm: 30, models: ['meta-llama/*'] }) });
    assert.equal(created.status, 201);
    assert.equal(created.headers.get('x-content-type-options'), 'nosniff');
    const key = (await created.json()) as Record<string, unknown>;
    assert.match(String(key.key), /^sk-sy-[0-9A-Za-z]{43}$/);
    assert.equal(key.name, 'team-a');
    assert.equal(key.balance_usd, 2.5);
    assert.deepEqual(key.models, ['meta-llama/*']);
    assert.equal(key.rpm, 30);
    assert.equal(key.revoked, false);

    const list = (await (await admin('/keys')).json()) as { object: string; data: Record<string, unknown>[] };
    assert.equal(list.object, 'list');
    const listed = list.data.find((entry) => entry.id === key.id)!;
    assert.equal('key' in listed, false);
    assert.equal(JSON.stringify(list).includes(String(key.key)), false);
    assert.deepEqual(Object.keys(listed).sort(), [
      'balance_usd',
      'budget_period',
      'budget_resets_at',
      'budget_spent_usd',
      'budget_usd',
      'created_at',
      'expires_at',
      'id',
      'last_used_at',
      'models',
      'name',
      'prefix',
      'revoked',
      'rpm',
      'tpm',
      'trial_tokens_remaining',
    ]);

    const topped = await admin(`/keys/${key.id}/credits`, { method: 'POST', body: JSON.stringify({ credits_usd: 0.5 }) });
    assert.equal(((await topped.json()) as { balance_usd: number }).balance_usd, 3);

    const answer = await gateway
      .client(String(key.key))
      .chat.completions.create({ model: 'meta-llama/Llama-3.1-8B-Instruct', messages: [{ role: 'user', content: 'Hi' }] });
    assert.ok(answer.choices.length > 0);

    const revoked = await admin(`/keys/${key.id}`, { method: 'DELETE' });
    assert.equal(((await revoked.json()) as { revoked: boolean }).revoked, true);
    const refused = await fetch(`${gateway.baseURL}/chat/completions`, { method: 'POST', headers: { authorization: `Bearer ${key.key}` }, body: '{}' });
    assert.equal(refused.status, 401, 'a revoke through the admin API takes effect on this instance at once');
    // As `switchyard credits add` does, a revoked key takes no top-up: the money could never be spent.
    const balanceOf = async () =>
      ((await (await admin('/keys')).json()) as { data: { id: string; balance_usd: number }[] }).data.find((entry) => entry.id === key.id)?.balance_usd;
    const before = await balanceOf();
    const late = await admin(`/keys/${key.id}/credits`, { method: 'POST', body: JSON.stringify({ credits_usd: 1 }) });
    assert.equal(late.status, 409);
    assert.equal(((await late.json()) as { error: { code: string } }).error.code, 'key_revoked');
    assert.equal(await balanceOf(), before, 'the balance is unchanged');
  });

  it('lists usage rows by key and time', async () => {
    const created = (await (await admin('/keys', { method: 'POST', body: JSON.stringify({ name: 'usage-reader' }) })).json()) as { id: string; key: string };
    await gateway.client(created.key).chat.completions.create({ model: 'meta-llama/Llama-3.1-8B-Instruct', messages: [{ role: 'user', content: 'Hi' }] });
    await gateway.running.deps.writer.flush();
    const since = new Date(Date.now() - 60_000).toISOString();
    const usage = (await (await admin(`/usage?key_id=${created.id}&since=${encodeURIComponent(since)}`)).json()) as {
      object: string;
      data: Record<string, unknown>[];
    };
    assert.equal(usage.object, 'list');
    assert.equal(usage.data.length, 1);
    for (const field of [
      'request_id',
      'key_id',
      'provider',
      'model',
      'prompt_tokens',
      'completion_tokens',
      'cost_usd',
      'status',
      'error_code',
      'latency_ms',
      'ttft_ms',
      'stream',
      'estimated',
      'created_at',
    ]) {
      assert.ok(field in usage.data[0], field);
    }
    const future = (await (await admin(`/usage?key_id=${created.id}&since=2999-01-01T00:00:00Z`)).json()) as { data: unknown[] };
    assert.equal(future.data.length, 0);
  });

  it('refuses bad admin input with 400 and unknown keys with 404', async () => {
    assert.equal((await admin('/keys', { method: 'POST', body: JSON.stringify({ credits_usd: 5 }) })).status, 400);
    assert.equal((await admin('/keys', { method: 'POST', body: JSON.stringify({ name: 'x', credits_usd: -5 }) })).status, 400);
    assert.equal((await admin('/keys/key_nope/credits', { method: 'POST', body: JSON.stringify({ credits_usd: 1 }) })).status, 404);
    assert.equal((await admin('/keys/key_nope/credits', { method: 'POST', body: JSON.stringify({ credits_usd: 'lots' }) })).status, 400);
    assert.equal((await admin('/keys/key_nope', { method: 'DELETE' })).status, 404);
    assert.equal((await admin('/usage?since=yesterday')).status, 400);
  });
});
