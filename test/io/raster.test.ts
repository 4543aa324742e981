import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { needsShared, sharedPath } from '../helpers/shared-data.js';
import { decodePng, encodePng, decodeJpeg, rasterToGrey } from '../../src/io/raster.js';


test('PNG encode/decode round-trips grey and RGB', () => {
  const grey = { width: 3, height: 2, channels: 1 as const, data: Uint8Array.from([0, 1, 2, 253, 254, 255]) };
  const back = decodePng(encodePng(grey));
  assert.deepEqual([back.width, back.height, back.channels], [3, 2, 1]);
  assert.deepEqual(Array.from(back.data), [0, 1, 2, 253, 254, 255]);
  const rgb = { width: 1, height: 2, channels: 3 as const, data: Uint8Array.from([10, 20, 30, 40, 50, 60]) };
  assert.deepEqual(Array.from(decodePng(encodePng(rgb)).data), [10, 20, 30, 40, 50, 60]);
  assert.deepEqual(Array.from(rasterToGrey({ ...rgb })), [Math.round(0.299 * 10 + 0.587 * 20 + 0.114 * 30), Math.round(0.299 * 40 + 0.587 * 50 + 0.114 * 60)]);
});

test('PNG encoding (node:zlib, by hand) is read back pixel for pixel by fast-png: grey, RGB, RGBA, many rows', () => {
  for (const channels of [1, 3, 4] as const) {
    const width = 37, height = 23;
    // Deterministic bytes that use every value and differ row to row.
    const data = Uint8Array.from({ length: width * height * channels }, (_, i) => (i * 131 + (i >> 5)) % 256);
    const back = decodePng(encodePng({ width, height, channels, data }));
    assert.deepEqual([back.width, back.height, back.channels, back.data.BYTES_PER_ELEMENT], [width, height, channels, 1]);
    assert.deepEqual(Array.from(back.data), Array.from(data), `${channels} channel(s)`);
  }
});

test('decoders name the file and the problem on bad input', () => {
  assert.throws(() => decodePng(Uint8Array.from([1, 2, 3]), 'x.png'), /x\.png: not a PNG file/);
  assert.throws(() => decodeJpeg(Uint8Array.from([0xff, 0xd8, 0xff, 0, 0]), 'y.jpg'), /y\.jpg: corrupt JPEG \(/);
});

test('real data: palette masks keep their label indices, JPEG CT decodes to grey', { skip: needsShared('covid-semiseg') }, () => {
  const dir = sharedPath('covid-semiseg/TrainingSet/MultiClassInfection-Train') + '/';
  const mask = decodePng(readFileSync(`${dir}GT/0.png`));
  assert.ok(mask.palette, 'multi-class GT is an indexed PNG');
  const labels = new Set(mask.data);
  assert.ok([...labels].every((v) => v <= 2), `labels ${[...labels]}`);
  const img = decodeJpeg(readFileSync(`${dir}Imgs/0.jpg`));
  assert.deepEqual([img.width, img.height], [mask.width, mask.height]);
});
