/**
 * The dashboard in a real browser (Chromium via playwright-core), used as an operator and a key owner would: sign in
 * both ways and with a wrong token, create a key and call with it through the openai SDK, see it on Usage and
 * Overview, export CSV, top up, revoke after a confirmation, sign out. Throughout: a hostile key name stays text, no
 * dialog fires, no URL ever holds a token, and no page logs a console error. DASHBOARD_SCREENSHOTS=dir saves PNGs.
 */
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { APIError } from 'openai';
import type { Page } from 'playwright-core';
import { launchBrowser, type TestBrowser, type WatchedPage } from '../helpers/browser.ts';
import { ADMIN_TOKEN, startDashboardGateway, type DashboardGateway } from '../helpers/dashboard.ts';
import { seedTraffic } from '../helpers/dashboard-traffic.ts';
import { eventually, usageMark } from '../helpers/gateway.ts';

const XSS_NAME = '<img src=x onerror=alert(1)>';
const LLAMA = 'meta-llama/Llama-3.1-8B-Instruct';
const HI = [{ role: 'user' as const, content: 'Hi' }];
const SHOTS = process.env.DASHBOARD_SCREENSHOTS;

async function shot(page: Page, name: string, fullPage = true): Promise<void> {
  if (!SHOTS) return;
  mkdirSync(SHOTS, { recursive: true });
  await page.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage });
}

async function signIn(page: Page, url: string, token: string): Promise<void> {
  await page.goto(`${url}/ui`);
  await page.fill('input[name=token]', token);
  await page.click('button[type=submit]');
  await page.waitForSelector('nav.top');
}

/** Waits until the usage table shows `count` rows (the filters apply as they change). */
async function rowCount(page: Page, count: number): Promise<void> {
  await eventually(async () => (await page.locator('tr[data-request-id]').count()) === count);
}

/** Dollars as the dashboard writes them: to the micro-dollar, at least two decimals. */
function dollars(value: number): string {
  return `$${value.toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 6 })}`;
}

/** The text of a stat card. */
async function stat(page: Page, id: string): Promise<string> {
  return (await page.locator(`[data-testid=${id}] .stat-value`).textContent()) ?? '';
}

describe('dashboard in a browser', () => {
  let d: DashboardGateway;
  let browser: TestBrowser;
  let operator: WatchedPage;
  const tokens: string[] = [ADMIN_TOKEN];
  const watched: WatchedPage[] = [];
  let secret = '';
  let keyId = '';

  before(async function () {
    browser = await launchBrowser(this);
    d = await startDashboardGateway();
    operator = await browser.page();
    watched.push(operator);
  });

  after(async () => {
    await browser?.close();
    await d?.close();
  });

  it('says so when the token is wrong, and stays signed out', async () => {
    const refused = await browser.page();
    const { page } = refused;
    const response = await page.goto(`${d.gateway.url}/ui`);
    assert.match((await response?.allHeaders())?.['content-security-policy'] ?? '', /script-src 'self';/);
    await shot(page, 'sign-in');
    await page.fill('input[name=token]', 'not-the-admin-token');
    await page.click('button[type=submit]');
    await page.getByRole('alert').waitFor();
    assert.match((await page.getByRole('alert').textContent()) ?? '', /Wrong admin token/);
    await page.fill('input[name=token]', `sk-sy-${'x'.repeat(43)}`);
    await page.click('button[type=submit]');
    await page.getByText('This gateway key was not accepted').waitFor();
    assert.equal(await page.evaluate('sessionStorage.length'), 0);
    // The browser logs each refused call; nothing else may go wrong on this page.
    assert.deepEqual(refused.errors, Array(2).fill('Failed to load resource: the server responded with a status of 401 (Unauthorized)'));
    assert.deepEqual(refused.dialogs, []);
    await refused.context.close();
  });

  it('operator: a new gateway shows what to do first, then a key created in the UI shows its secret once', async () => {
    const { page, context } = operator;
    await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: d.gateway.url });
    await signIn(page, d.gateway.url, ADMIN_TOKEN);
    await page.getByText('No keys yet').waitFor();
    await shot(page, 'overview-empty');
    await page.getByRole('link', { name: 'Create a key' }).click();
    await page.getByRole('dialog', { name: 'Create a key' }).waitFor();
    await shot(page, 'key-create');
    await page.fill('input[name=name]', XSS_NAME);
    await page.fill('input[name=credits_usd]', '1');
    await page.fill('input[name=rpm]', '100');
    await page.fill('input[name=models]', 'meta-llama/*, gpt-4o*');
    await page.getByRole('dialog').getByRole('button', { name: 'Create key' }).click();
    secret = (await page.getByTestId('new-secret').textContent()) ?? '';
    assert.match(secret, /^sk-sy-[0-9A-Za-z]{43}$/);
    tokens.push(secret);
    await shot(page, 'key-created');
    await page.getByRole('button', { name: 'Copy' }).click();
    await page.getByRole('button', { name: 'Copied' }).waitFor();
    assert.equal(await page.evaluate('navigator.clipboard.readText()'), secret);
    await page.getByRole('button', { name: 'I have stored it' }).click();
    await page.locator('.key-name').first().waitFor();
    assert.equal((await page.content()).includes(secret), false, 'the secret is gone once the dialog closes');
    await page.reload();
    await page.locator('.key-name').first().waitFor();
    assert.equal((await page.content()).includes(secret), false);
    keyId = (await page.locator('tr[data-key-id]').first().getAttribute('data-key-id')) ?? '';
  });

  it('without clipboard access, Copy selects the new secret instead', async () => {
    const plain = await browser.page();
    watched.push(plain);
    const { page } = plain;
    await page.addInitScript('Object.defineProperty(navigator, "clipboard", { value: undefined })');
    await signIn(page, d.gateway.url, ADMIN_TOKEN);
    await page.getByRole('link', { name: 'Keys' }).click();
    await page.getByRole('button', { name: 'Create key' }).click();
    await page.fill('input[name=name]', 'copied by hand');
    await page.getByRole('dialog').getByRole('button', { name: 'Create key' }).click();
    const shown = (await page.getByTestId('new-secret').textContent()) ?? '';
    tokens.push(shown);
    await page.getByRole('button', { name: 'Copy' }).click();
    await page.getByRole('button', { name: /^(Copied|Selected: press Ctrl\+C)$/ }).waitFor();
    assert.equal(await page.evaluate('String(getSelection())'), shown);
    await page.getByRole('button', { name: 'I have stored it' }).click();
    await plain.context.close();
  });

  it('shows a hostile key name as text: no element, no dialog', async () => {
    const { page } = operator;
    await page.reload();
    await page.locator(`tr[data-key-id="${keyId}"] .key-name`).waitFor();
    assert.equal(await page.locator(`tr[data-key-id="${keyId}"] .key-name`).textContent(), XSS_NAME);
    assert.equal(await page.locator('img').count(), 0);
    assert.deepEqual(operator.dialogs, []);
  });

  it('the key works with the openai SDK, and its calls appear on Usage and Overview with the right numbers', async () => {
    const client = d.gateway.client(secret);
    for (let i = 0; i < 2; i++) await client.chat.completions.create({ model: LLAMA, messages: HI });
    const stream = await client.chat.completions.create({ model: 'gpt-4o-mini', messages: HI, stream: true });
    for await (const _chunk of stream);
    // Outside the key's model globs: refused, and counted as an error.
    await assert.rejects(client.chat.completions.create({ model: 'org/other', messages: HI }), (error: APIError) => error.status === 403);
    await usageMark(d.gateway);
    const rows = await d.gateway.running.deps.db('usage').select();
    const { page } = operator;
    await page.getByRole('link', { name: 'Overview' }).click();
    await page.getByTestId('stat-requests').waitFor();
    assert.equal(await stat(page, 'stat-requests'), String(rows.length));
    assert.equal(await stat(page, 'stat-error-rate'), '25.0%');
    const tokens = rows.reduce((sum, row) => sum + row.prompt_tokens + row.completion_tokens, 0);
    assert.equal(await stat(page, 'stat-tokens'), String(tokens));
    const costMicro = rows.reduce((sum, row) => sum + Number(row.cost_micro), 0);
    assert.equal(await stat(page, 'stat-spend'), dollars(costMicro / 1e6));
    assert.equal(await page.locator('.uplot').count(), 2);
    const byKey = page.getByTestId('keys-by-spend').locator('tbody tr');
    assert.equal(await byKey.count(), 1);
    assert.deepEqual((await byKey.locator('td').allTextContents()).slice(0, 3), [XSS_NAME, '4', '25.0%']);
    const llama = rows.filter((row) => row.model === LLAMA);
    const llamaRow = page.getByTestId('models').locator('tr', { hasText: LLAMA });
    assert.equal(await llamaRow.locator('td').nth(1).textContent(), String(llama.length));
    assert.equal(await llamaRow.locator('td').last().textContent(), dollars(llama.reduce((sum, row) => sum + Number(row.cost_micro), 0) / 1e6));
    // A model in the table links to its usage.
    await llamaRow.getByRole('link', { name: LLAMA }).click();
    await rowCount(page, 2);
    assert.equal(await page.inputValue('select[name=model]'), LLAMA);

    await page.getByRole('link', { name: 'Usage' }).click();
    await rowCount(page, 4);
    await page.locator('tr[data-request-id]').first().waitFor();
    assert.equal(await page.locator('tr[data-request-id]').count(), 4);
    assert.equal(await page.locator('tr[data-request-id]').first().getAttribute('data-request-id'), rows.at(-1).request_id, 'newest first');
  });

  it('filters usage and exports exactly the filtered rows as CSV', async () => {
    const { page } = operator;
    await page.selectOption('select[name=status]', 'error');
    await rowCount(page, 1);
    assert.match((await page.locator('tr[data-request-id] .status').textContent()) ?? '', /403/);
    await page.selectOption('select[name=status]', '');
    await page.selectOption('select[name=model]', LLAMA);
    await rowCount(page, 2);
    await shot(page, 'usage-filtered');
    const shown = await page.locator('tr[data-request-id]').evaluateAll((rows) => rows.map((row) => row.getAttribute('data-request-id')));
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Export CSV' }).click()]);
    assert.match(download.suggestedFilename(), /^switchyard-usage-\d{4}-\d{2}-\d{2}\.csv$/);
    const csv = readFileSync((await download.path())!, 'utf8')
      .trimEnd()
      .split('\r\n');
    assert.equal(csv.length, 3);
    assert.deepEqual(
      csv.slice(1).map((line) => line.split(',')[1]),
      shown,
    );
    assert.ok(csv.slice(1).every((line) => line.includes(`,${XSS_NAME},`) && line.includes(`,${LLAMA},`)));
  });

  it("edits a key's limits: budget, tokens per minute, models and expiry", async () => {
    const { page } = operator;
    await page.getByRole('link', { name: 'Keys' }).click();
    const row = page.locator(`tr[data-key-id="${keyId}"]`);
    await row.getByRole('button', { name: 'Edit' }).click();
    assert.equal(await page.inputValue('input[name=models]'), 'meta-llama/*, gpt-4o*');
    await page.fill('input[name=budget_usd]', '5');
    await page.selectOption('select[name=budget_period]', 'day');
    await page.fill('input[name=tpm]', '20000');
    await page.fill('input[name=expires]', '2030-01-31');
    await page.getByRole('button', { name: 'Save' }).click();
    await page.getByRole('dialog').waitFor({ state: 'detached' });
    const keys = (await (await fetch(`${d.gateway.url}/admin/keys`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } })).json()) as {
      data: Record<string, unknown>[];
    };
    const saved = keys.data.find((k) => k.id === keyId)!;
    assert.equal(saved.budget_usd, 5);
    assert.equal(saved.budget_period, 'day');
    assert.equal(saved.tpm, 20000);
    assert.equal(saved.rpm, 100);
    assert.deepEqual(saved.models, ['meta-llama/*', 'gpt-4o*']);
    assert.equal(saved.expires_at, '2030-02-01T00:00:00.000Z');
    await row.getByText('through 2030-01-31').waitFor();
    await row.getByText(/left of \$5\.00\/day/).waitFor();
    assert.match((await row.textContent()) ?? '', /100 rpm · 20,000 tpm/);
  });

  it('tops a key up and revokes it only after the confirmation', async () => {
    const { page } = operator;
    await page.getByRole('link', { name: 'Keys' }).click();
    const row = page.locator(`tr[data-key-id="${keyId}"]`);
    await row.getByRole('button', { name: 'Top up' }).click();
    await page.fill('input[name=amount]', '2.5');
    await page.getByRole('button', { name: 'Add credits' }).click();
    await page.getByRole('dialog').waitFor({ state: 'detached' });
    const balance = async () =>
      (
        (await (await fetch(`${d.gateway.url}/admin/keys`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } })).json()) as {
          data: { id: string; balance_usd: number }[];
        }
      ).data.find((k) => k.id === keyId)!.balance_usd;
    const expected = await balance();
    assert.ok(expected > 3.49 && expected < 3.5, String(expected));
    await row.locator('td.num', { hasText: dollars(expected) }).waitFor();

    await row.getByRole('button', { name: 'Revoke' }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Cancel' }).click();
    assert.equal(await row.locator('.badge').textContent(), 'active');
    await row.getByRole('button', { name: 'Revoke' }).click();
    await shot(page, 'revoke-confirm');
    await page.getByRole('dialog').getByRole('button', { name: 'Revoke key' }).click();
    await row.locator('.badge.bad').waitFor();
    assert.equal(await row.locator('.badge').textContent(), 'revoked');
    await assert.rejects(d.gateway.client(secret).chat.completions.create({ model: LLAMA, messages: HI }), (error: APIError) => error.status === 401);
  });

  it('lists the providers with their plugin, models and whether their key is set', async () => {
    const { page } = operator;
    await page.getByRole('link', { name: 'Providers' }).click();
    await page.locator('tr[data-provider]').first().waitFor();
    const cells = await page
      .locator('tr[data-provider]')
      .evaluateAll((rows) => rows.map((row) => [...row.querySelectorAll('td')].slice(0, 4).map((cell) => cell.textContent)));
    assert.deepEqual(cells, [
      ['openai', 'openai', 'gpt-*, text-embedding-*', 'set'],
      ['huggingface', 'huggingface', '*/*', 'set'],
      ['local', 'openai-compatible', 'llama3*', 'not set (optional)'],
    ]);
  });

  it('key owner: signs in with the key, sees balance, trial left, spend per day and the latest requests', async () => {
    const owned = await d.gateway.createKey({ name: 'owner-key', credits_usd: 2, trial_tokens: 5000 });
    tokens.push(owned.secret);
    const client = d.gateway.client(owned.secret);
    for (let i = 0; i < 3; i++) await client.chat.completions.create({ model: LLAMA, messages: HI });
    await usageMark(d.gateway);
    const owner = await browser.page();
    watched.push(owner);
    await signIn(owner.page, d.gateway.url, owned.secret);
    await owner.page.locator('tr[data-request-id]').first().waitFor();
    assert.equal(await owner.page.locator('tr[data-request-id]').count(), 3);
    const usage = (await (await fetch(`${d.gateway.url}/v1/usage`, { headers: { authorization: `Bearer ${owned.secret}` } })).json()) as {
      balance_usd: number;
      trial_tokens_remaining: number;
    };
    assert.equal(await stat(owner.page, 'owner-balance'), dollars(usage.balance_usd));
    assert.equal(await stat(owner.page, 'owner-trial'), usage.trial_tokens_remaining.toLocaleString('en-US'));
    assert.equal(await owner.page.locator('.uplot').count(), 1);
    assert.equal(await owner.page.getByRole('link', { name: 'Keys' }).count(), 0, 'an owner sees no operator pages');

    // Revoked while signed in: the next call is refused, and the tab signs out saying why.
    await fetch(`${d.gateway.url}/admin/keys/${owned.record.id}`, { method: 'DELETE', headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
    await owner.page.reload();
    await owner.page.getByRole('alert').getByText('Signed out: This gateway key has been revoked.').waitFor();
    assert.equal(await owner.page.evaluate('sessionStorage.length'), 0);
    // The browser logs the refused calls; nothing else may have gone wrong on this page.
    assert.ok(owner.errors.length > 0 && owner.errors.every((error) => error.includes('status of 401')), owner.errors.join('\n'));
    owner.errors.length = 0;
  });

  it('sign out forgets the token: the sign-in form comes back, also after a reload', async () => {
    const { page } = operator;
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.locator('input[name=token]').waitFor();
    assert.equal(await page.evaluate('sessionStorage.length'), 0);
    await page.reload();
    await page.locator('input[name=token]').waitFor();
    assert.equal(await page.locator('nav.top').count(), 0);
  });

  it('shows a hostile model name (client input) as text in the charts, the table and the filter', async () => {
    const model = 'org/<img src=x onerror=alert(2)>';
    const { secret: hostile } = await d.gateway.createKey({ name: 'hostile-client' });
    tokens.push(hostile);
    await d.gateway.client(hostile).chat.completions.create({ model, messages: HI });
    await usageMark(d.gateway);
    const watcher = await browser.page();
    watched.push(watcher);
    const { page } = watcher;
    await signIn(page, d.gateway.url, ADMIN_TOKEN);
    await page.locator('.u-legend').getByText(model).waitFor();
    await page.getByRole('link', { name: 'Usage' }).click();
    await page.locator('tr[data-request-id] td.mono', { hasText: model }).waitFor();
    // The filter's choices load beside the rows; an option is never "visible" in a closed select.
    await page.locator('select[name=model] option', { hasText: model }).waitFor({ state: 'attached' });
    // Preact sets an option's value as a property, so read that (there is no attribute).
    assert.equal(
      await page.locator('select[name=model] option', { hasText: model }).evaluate((option) => (option as unknown as { value: string }).value),
      model,
    );
    assert.equal(await page.locator('img').count(), 0);
    assert.deepEqual(watcher.dialogs, []);
  });

  it('renders two weeks of busy traffic on every page without a console error (the documentation screenshots)', async () => {
    // A gateway of its own: the screenshots show the seeded teams, not the hostile names the tests above create.
    const busyGateway = await startDashboardGateway();
    try {
      await showBusyTraffic(busyGateway);
    } finally {
      await busyGateway.close();
    }
  });

  async function showBusyTraffic(d: DashboardGateway): Promise<void> {
    const teams = await Promise.all(
      ['team-search', 'team-support', 'batch-jobs'].map((name, i) =>
        d.gateway.createKey({ name, credits_usd: 50 * (i + 1), rpm: 600, budget_usd: 40, budget_period: 'month' }),
      ),
    );
    await seedTraffic(
      d.gateway,
      teams.map((team) => team.record.id),
    );
    const busy = await browser.page();
    watched.push(busy);
    const { page } = busy;
    await signIn(page, d.gateway.url, ADMIN_TOKEN);
    await page.getByRole('button', { name: '7 days' }).click();
    await page.getByRole('button', { name: '7 days', pressed: true }).waitFor();
    const week = (await (await fetch(`${d.gateway.url}/admin/overview?range=7d`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } })).json()) as {
      totals: { requests: number };
    };
    await page.getByTestId('stat-requests').getByText(week.totals.requests.toLocaleString('en-US'), { exact: true }).waitFor();
    await page.locator('.uplot').nth(1).waitFor();
    await shot(page, 'overview');
    await page.getByRole('link', { name: 'Keys' }).click();
    await page
      .locator('tr[data-key-id]')
      .nth(teams.length - 1)
      .waitFor();
    await shot(page, 'keys');
    await page.getByRole('link', { name: 'Usage' }).click();
    await page.locator('tr[data-request-id]').nth(49).waitFor();
    await page.getByRole('button', { name: 'Older →' }).click();
    await page.getByText('page 2').waitFor();
    await page.getByRole('button', { name: '← Newer' }).click();
    await page.getByText('page 1').waitFor();
    await shot(page, 'usage', false);
    await page.getByRole('link', { name: 'Providers' }).click();
    await page.locator('tr[data-provider]').first().waitFor();
    await shot(page, 'providers');
    const owner = await browser.page();
    watched.push(owner);
    await signIn(owner.page, d.gateway.url, teams[0].secret);
    await owner.page.locator('tr[data-request-id]').nth(19).waitFor();
    await owner.page.locator('.uplot').waitFor();
    await shot(owner.page, 'owner');
  }

  it('no URL ever held a token, no dialog fired and no page logged a console error', () => {
    for (const entry of watched) {
      assert.deepEqual(entry.errors, []);
      assert.deepEqual(entry.dialogs, []);
      for (const url of entry.urls) for (const token of tokens) assert.equal(url.includes(token), false, url);
      assert.ok(entry.urls.length > 5);
    }
  });
});
