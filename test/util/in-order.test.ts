import { test } from 'node:test';
import assert from 'node:assert/strict';
import { allInOrder } from '../../src/util/in-order.js';

/** A promise settled by hand, so the test decides which fails first in time. */
function deferred<T>(): { promise: Promise<T>; resolve: (v: T) => void; reject: (e: Error) => void } {
  let resolve!: (v: T) => void;
  let reject!: (e: Error) => void;
  const promise = new Promise<T>((res, rej) => { resolve = res; reject = rej; });
  return { promise, resolve, reject };
}

test('allInOrder: values in order; of several failures, the first in argument order is thrown, whichever failed first in time', async () => {
  assert.deepEqual(await allInOrder([Promise.resolve(1), Promise.resolve('a'), undefined]), [1, 'a', undefined]);
  const a = deferred<number>();
  const b = deferred<number>();
  const both = allInOrder([a.promise, b.promise]);
  b.reject(new Error('b.nii.gz is broken'));
  await Promise.resolve();
  a.reject(new Error('a.nii.gz is broken'));
  await assert.rejects(both, /a\.nii\.gz is broken/);
  const c = deferred<number>();
  const one = allInOrder([Promise.resolve(1), c.promise]);
  c.reject(new Error('c.png is broken'));
  await assert.rejects(one, /c\.png is broken/);
});
