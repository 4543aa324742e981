import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodePng } from '../../src/io/raster.js';
import { createImage, setPixel } from '../../src/figures/canvas.js';
import { saveFigure, figureToPng, toPngImage } from '../../src/figures/save.js';

test('saveFigure writes an RGB PNG that decodes to the same pixels', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'covseg-figures-'));
  try {
    const img = createImage(3, 2, [10, 20, 30]);
    setPixel(img, 2, 1, [255, 0, 128]);
    const path = join(dir, 'sub', 'figure.png');
    await saveFigure(path, img);
    const back = decodePng(readFileSync(path), path);
    assert.deepEqual([back.width, back.height, back.channels], [3, 2, 3]);
    assert.deepEqual(Array.from(back.data), Array.from(img.data));
    assert.deepEqual(readdirSync(join(dir, 'sub')), ['figure.png'], 'no temp file left behind');
    assert.deepEqual(Array.from(decodePng(figureToPng(img)).data), Array.from(img.data));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('saveFigure and toPngImage name their errors', async () => {
  await assert.rejects(saveFigure('/tmp/figure.jpg', createImage(1, 1)), /\/tmp\/figure\.jpg: figures are written as PNG; name the file '\*\.png' \(got '\.jpg'\)/);
  assert.throws(() => toPngImage({ width: 2, height: 2, data: new Uint8Array(3) }), /figure has 3 bytes but 2×2 RGB needs 12/);
});
