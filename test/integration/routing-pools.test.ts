/**
 * Routing pools, through the OpenAI SDK against mock deployments: weights honoured exactly (smooth weighted
 * round-robin), least-busy steering away from held streams, lowest-latency preferring the fast target while still
 * measuring the slow one, sticky conversations, per-target model names, and the `provider` field bypassing a rule.
 */
import assert from 'node:assert/strict';
import { usageRow } from '../helpers/gateway.ts';
import { startDeployments, type MockDeployment } from '../helpers/mock-deployment.ts';
import { POOL_MODEL, startPool, tally, type PoolGateway } from '../helpers/pool.ts';

describe('routing pools', function () {
  this.timeout(30_000);
  let deployments: MockDeployment[] = [];
  let pool: PoolGateway | undefined;

  afterEach(async () => {
    await pool?.close();
    pool = undefined;
    for (const deployment of deployments) await deployment.close();
    deployments = [];
  });

  describe('weighted (smooth weighted round-robin)', () => {
    it('serves 100 concurrent requests 3:1:1 exactly, each target under its own model name, and the usage row names the entry', async () => {
      deployments = await startDeployments('a', 'b', 'c');
      pool = await startPool(deployments, {
        rule: {
          targets: [
            { provider: 'a', weight: 3 },
            { provider: 'b', weight: 1 },
            { provider: 'c', weight: 1, model: 'c-org/llama-70b-turbo' },
          ],
        },
      });
      const served = await Promise.all(Array.from({ length: 100 }, () => pool!.ask()));
      // Round-robin is exact over every cycle of 5 picks, so the tolerance is zero, not a statistical band.
      assert.deepEqual(tally(served), { a: 60, b: 20, c: 20 });
      assert.deepEqual([deployments[0].served, deployments[1].served, deployments[2].served], [60, 20, 20]);
      assert.equal(deployments[2].lastModel, 'c-org/llama-70b-turbo');
      assert.equal(deployments[0].lastModel, POOL_MODEL);

      const response = await pool.client.chat.completions.create({ model: POOL_MODEL, messages: [{ role: 'user', content: 'Hi' }] }).withResponse();
      const row = await usageRow(pool.gateway, response.response.headers.get('x-request-id')!);
      assert.equal(row.provider, response.data.choices[0].message.content?.replace('served by ', ''));
      assert.equal(row.model, POOL_MODEL);
    });

    it('interleaves a 2:1 pool instead of sending bursts', async () => {
      deployments = await startDeployments('a', 'b');
      pool = await startPool(deployments, { rule: { targets: [{ provider: 'a', weight: 2 }, 'b'] } });
      const order: string[] = [];
      for (let i = 0; i < 6; i++) order.push(await pool.ask());
      assert.deepEqual(order, ['a', 'b', 'a', 'a', 'b', 'a']);
    });

    it('asks a target for its own model name', async () => {
      deployments = await startDeployments('a');
      pool = await startPool(deployments, { rule: { targets: [{ provider: 'a', model: 'vendor/llama-70b-instruct' }] } });
      assert.equal(await pool.ask(), 'a');
      assert.equal(deployments[0].lastModel, 'vendor/llama-70b-instruct');
    });
  });

  describe('rule bypass and unmatched models', () => {
    it('lets a body `provider` name one entry directly, and leaves models no rule matches to the first matching entry', async () => {
      deployments = await startDeployments('a', 'b');
      pool = await startPool(deployments);
      const direct = await Promise.all(Array.from({ length: 4 }, () => pool!.ask('Hi', { provider: 'b' })));
      assert.deepEqual(direct, ['b', 'b', 'b', 'b']);
      const answer = await pool.client.chat.completions.create({ model: 'a-only/model', messages: [{ role: 'user', content: 'Hi' }] });
      assert.equal(answer.choices[0].message.content, 'served by a');
      await assert.rejects(pool.client.chat.completions.create({ model: 'nobody/model', messages: [{ role: 'user', content: 'Hi' }] }), { status: 404 });
    });
  });

  describe('stored responses', () => {
    it('sends a call that continues a stored response to the target holding it, whatever the strategy', async () => {
      deployments = await startDeployments('a', 'b');
      const native = { supports: { responses: true } };
      pool = await startPool(deployments, { entries: { a: native, b: native } });
      const first = await pool.client.responses.create({ model: POOL_MODEL, input: 'Hi' });
      assert.equal(first.id, 'resp_a_1');
      let streamedId = '';
      const stream = await pool.client.responses.create({ model: POOL_MODEL, input: 'Hi', stream: true });
      for await (const event of stream) if (event.type === 'response.created') streamedId = event.response.id;
      assert.equal(streamedId, 'resp_b_1');
      const continued: string[] = [];
      for (const previous of [first.id, streamedId, first.id, streamedId, first.id, first.id]) {
        const next = await pool.client.responses.create({ model: POOL_MODEL, input: 'And then?', previous_response_id: previous });
        continued.push(`${previous}>${next.output_text}`);
      }
      assert.deepEqual(continued, [
        'resp_a_1>served by a',
        'resp_b_1>served by b',
        'resp_a_1>served by a',
        'resp_b_1>served by b',
        'resp_a_1>served by a',
        'resp_a_1>served by a',
      ]);
    });
  });

  describe('least-busy', () => {
    it('sends new requests away from a target holding slow streams, and shares again once it is free', async () => {
      deployments = await startDeployments('a', 'b');
      const [a, b] = deployments;
      pool = await startPool(deployments, { rule: { strategy: 'least-busy' } });
      a.holdStreams();
      const held = await pool.client.chat.completions.create({ model: POOL_MODEL, messages: [{ role: 'user', content: 'Hi' }], stream: true });
      const reader = held[Symbol.asyncIterator]();
      const first = await reader.next();
      assert.equal(first.value?.choices[0].delta.content, 'a:');
      assert.equal(a.openStreams, 1);

      const whileBusy: string[] = [];
      for (let i = 0; i < 10; i++) whileBusy.push(await pool.ask());
      assert.deepEqual(tally(whileBusy), { b: 10 });
      assert.equal(a.received, 1);

      a.release();
      while (!(await reader.next()).done);
      const afterwards: string[] = [];
      for (let i = 0; i < 4; i++) afterwards.push(await pool.ask());
      assert.deepEqual(tally(afterwards), { a: 2, b: 2 });
      assert.equal(b.received, 12);
    });
  });

  describe('lowest-latency', () => {
    it('prefers the fast target, measures the slow one again now and then, and follows when they swap', async () => {
      deployments = await startDeployments('fast', 'slow');
      const [fast, slow] = deployments;
      slow.delayMs = 80; // a wide margin, so a busy machine cannot make the fast one look slow
      pool = await startPool(deployments, { rule: { strategy: 'lowest-latency' }, fakeClock: false });
      const first: string[] = [];
      for (let i = 0; i < 30; i++) first.push(await pool.ask());
      // Pick 1 and 2 measure each target once; then one pick in ten measures the one measured longest ago.
      assert.deepEqual(tally(first), { fast: 26, slow: 4 });
      assert.deepEqual([first[1], first[9], first[19], first[29]], ['slow', 'slow', 'slow', 'slow']);

      fast.delayMs = 150;
      slow.delayMs = 0;
      const second: string[] = [];
      for (let i = 0; i < 30; i++) second.push(await pool.ask());
      assert.equal(second.slice(-10).filter((name) => name === 'slow').length >= 8, true, `the formerly slow target takes over: ${second.join(',')}`);
      assert.equal(fast.received > 26, true);
    });
  });

  describe('sticky', () => {
    /** One conversation: the first turn, then each next turn repeats the history, as chat clients do. */
    async function converse(pool: PoolGateway, opening: string, turns: number): Promise<string[]> {
      const messages: { role: 'user' | 'assistant'; content: string }[] = [{ role: 'user', content: opening }];
      const served: string[] = [];
      for (let turn = 0; turn < turns; turn++) {
        const answer = await pool.client.chat.completions.create({ model: POOL_MODEL, messages });
        const content = String(answer.choices[0].message.content);
        served.push(content.replace('served by ', ''));
        messages.push({ role: 'assistant', content }, { role: 'user', content: `turn ${turn}` });
      }
      return served;
    }

    it('keeps each conversation on one target, moves it when that target cools, and brings it back after', async () => {
      deployments = await startDeployments('a', 'b', 'c');
      pool = await startPool(deployments, { rule: { sticky: true } });
      const homes = new Map<string, string>();
      for (let i = 0; i < 8; i++) {
        const served = await converse(pool, `conversation ${i}`, 4);
        assert.equal(new Set(served).size, 1, `conversation ${i} stayed: ${served}`);
        homes.set(`conversation ${i}`, served[0]);
      }
      assert.ok(new Set(homes.values()).size >= 2, 'conversations spread over the pool');

      const [opening, home] = [...homes.entries()][0];
      const homeDeployment = deployments.find((deployment) => deployment.name === home)!;
      homeDeployment.mode = '401';
      const before = homeDeployment.received;
      const moved = await converse(pool, opening, 3);
      assert.equal(new Set(moved).size, 1, `moved as one: ${moved}`);
      assert.notEqual(moved[0], home);
      assert.equal(homeDeployment.received, before + 1, 'one failed attempt cooled it; later turns never tried it');

      homeDeployment.mode = 'ok';
      pool.advance(300_001);
      assert.deepEqual(await converse(pool, opening, 2), [home, home]);
    });

    it('recognises a conversation by prompt_cache_key or user before its messages', async () => {
      deployments = await startDeployments('a', 'b', 'c');
      pool = await startPool(deployments, { rule: { sticky: true } });
      const byKey = await Promise.all(Array.from({ length: 6 }, (_, i) => pool!.ask(`different text ${i}`, { prompt_cache_key: 'thread-42' })));
      assert.equal(new Set(byKey).size, 1);
      const byUser = await Promise.all(Array.from({ length: 6 }, (_, i) => pool!.ask(`other text ${i}`, { user: 'end-user-7' })));
      assert.equal(new Set(byUser).size, 1);
    });
  });
});
