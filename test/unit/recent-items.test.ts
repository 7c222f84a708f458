/** RecentItems: what `item_reference` can resolve is scoped per key and bounded in bytes and time. */
import assert from 'node:assert/strict';
import { RecentItems } from '../../src/endpoints/responses/recent-items.ts';

const item = (id: string, text = 'x') => ({ id, type: 'message', role: 'assistant', content: [{ type: 'output_text', text }] });

describe('RecentItems', () => {
  it('resolves an item for the key that received it, and for no other', () => {
    const items = new RecentItems();
    items.remember('key-a', [item('msg_1')]);
    assert.deepEqual(items.resolve('key-a', 'msg_1'), item('msg_1'));
    assert.equal(items.resolve('key-b', 'msg_1'), undefined);
    assert.equal(items.resolve('key-a', 'msg_2'), undefined);
  });

  it('forgets the oldest items first when over its byte budget', () => {
    const id = (index: number) => `msg_${String(index).padStart(2, '0')}`;
    const items = new RecentItems(JSON.stringify(item(id(0), 'a'.repeat(100))).length * 20);
    for (let index = 0; index < 25; index++) items.remember('key', [item(id(index), 'a'.repeat(100))]);
    assert.equal(items.size, 20);
    assert.equal(items.resolve('key', id(4)), undefined);
    assert.ok(items.resolve('key', id(5)));
  });

  it('does not keep an item larger than a sixteenth of the budget', () => {
    const items = new RecentItems(1600);
    items.remember('key', [item('msg_big', 'a'.repeat(200))]);
    assert.equal(items.size, 0);
  });

  it('forgets items after their time to live', () => {
    const items = new RecentItems(1_000_000, 0);
    items.remember('key', [item('msg_1')]);
    assert.equal(items.resolve('key', 'msg_1'), undefined);
  });
});
