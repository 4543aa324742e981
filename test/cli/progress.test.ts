/** StageBars: the commands' drawing of a library's progress callback. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { StageBars } from '../../src/cli/progress.js';

/** A non-terminal stream that keeps what is written (a line per 10%, as in CI logs). */
function captured(): { stream: NodeJS.WriteStream; lines: () => string[] } {
  let text = '';
  const stream = { isTTY: false, write: (s: string) => { text += s; return true; } } as unknown as NodeJS.WriteStream;
  return { stream, lines: () => text.trimEnd().split('\n').map((l) => l.replace(/ [\d.]+s elapsed(, ETA [^ ]+)?/, '')) };
}

test('StageBars: one bar per stage, ended by the next stage or end(detail), the step detail shown', () => {
  const saved = process.env['COVSEG_QUIET'];
  delete process.env['COVSEG_QUIET'];
  try {
    const out = captured();
    const bars = new StageBars({ label: 'build-db', stream: out.stream });
    bars.onProgress(0, 2);
    bars.onProgress(1, 2, undefined, 'Case-0000');
    bars.onProgress(2, 2, undefined, 'Case-0001');
    bars.onProgress(0, 4, 'epoch 1/2');
    bars.onProgress(4, 4, 'epoch 1/2', 'loss 0.5');
    bars.end('val Dice 0.9');
    assert.deepEqual(out.lines(), [
      'build-db 1/2 50% Case-0000',
      'build-db 2/2 100% Case-0001',
      'build-db 2/2 100% Case-0001',
      'epoch 1/2 4/4 100% loss 0.5',
      'epoch 1/2 4/4 100% val Dice 0.9',
    ]);
    const quiet = captured();
    const silent = new StageBars({ quiet: true, stream: quiet.stream });
    silent.onProgress(1, 1, 'x');
    silent.end();
    process.env['COVSEG_QUIET'] = '1';
    const env = new StageBars({ stream: quiet.stream });
    env.onProgress(1, 1, 'x');
    env.end();
    assert.deepEqual(quiet.lines(), ['']);
  } finally {
    if (saved === undefined) delete process.env['COVSEG_QUIET'];
    else process.env['COVSEG_QUIET'] = saved;
  }
});
