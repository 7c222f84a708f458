/** The one log throttle: the first line at once, then one per interval saying how many were held back. */
import assert from 'node:assert/strict';
import { LogThrottle } from '../../src/util/log-throttle.ts';

describe('LogThrottle', () => {
  it('lets the first line through, holds the next ones for the interval, then reports how many it held', () => {
    const throttle = new LogThrottle(1000);
    const written: number[] = [];
    const write = (suppressed: number): void => void written.push(suppressed);
    throttle.log(write, 10_000);
    throttle.log(write, 10_200);
    throttle.log(write, 10_999);
    assert.deepEqual(written, [0]);
    throttle.log(write, 11_000);
    assert.deepEqual(written, [0, 2]);
    throttle.log(write, 13_000);
    assert.deepEqual(written, [0, 2, 0]);
  });
});
