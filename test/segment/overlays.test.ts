import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createVolume } from '../../src/volume/volume.js';
import { decode } from 'fast-png';
import { LESION_ALPHA, overlaySheet, overlaySlices } from '../../src/segment/overlays.js';
import { CLASS_CONSOLIDATION, CLASS_GROUND_GLASS, LCTA_BANDS, lesionTypeMap } from '../../src/clinical/index.js';
import { blendChannel, CONSOLIDATION, ctSliceToRgb, figureToPng, GROUND_GLASS, LESION, LUNG_WINDOW_HU } from '../../src/figures/index.js';
import { bilateral, index } from '../clinical/phantom.js';

test('the "most lesion" overlay is a lung slice: lesion outside the lungs (a stomach slice) never picks it; no lungs says so', () => {
  const [nx, ny, nz] = [64, 64, 10];
  const ct = createVolume(new Int16Array(nx * ny * nz).fill(40), [nx, ny, nz]);
  const lungs = new Uint8Array(ct.data.length), lesions = new Uint8Array(ct.data.length);
  const at = (x: number, y: number, z: number) => x + nx * (y + ny * z);
  // Lungs on slices 5–9 with a little lesion on slice 7; a big "lesion" on slice 1 with no lung.
  for (let z = 5; z < 10; z++) for (let y = 10; y < 50; y++) for (let x = 5; x < 25; x++) lungs[at(x, y, z)] = 1;
  for (let x = 10; x < 14; x++) lesions[at(x, 20, 7)] = 1;
  for (let y = 0; y < 60; y++) for (let x = 0; x < 60; x++) lesions[at(x, y, 1)] = 1;
  const slices = overlaySlices(ct, createVolume(lungs, ct.dims), createVolume(lesions, ct.dims), true);
  assert.deepEqual(slices.find((s) => s.caption === 'most lesion')?.z, 7);
  assert.ok(slices.every((s) => s.z >= 5), slices.map((s) => s.z).join(','));
  const none = overlaySlices(ct, createVolume(new Uint8Array(ct.data.length), ct.dims), createVolume(lesions, ct.dims), true);
  assert.deepEqual(none.map((s) => s.caption), ['middle slice, no lungs in view']);
});

test('overlays of HU input: ground-glass voxels in the ground-glass colour, consolidation in the consolidation colour (PNG decoded by fast-png), a key that says which; without HU one lesion colour and a key that says why', () => {
  // The clinical tests' hand-built chest (identity direction: already LPS, slice z is array z):
  // right lung ground glass −600 HU on its top slice's core, consolidation −100 HU dorsal on its
  // bottom slice; left lung −650 HU in its upper third, −300 HU rows y 1–4 of its middle third.
  const p = bilateral();
  const [nx, ny] = p.ct.dims;
  const classes = lesionTypeMap(p.ct, p.lungs, p.lesions, true);
  const cases = [
    { isHu: true, options: { consolidationFrom: LCTA_BANDS.infiltratedBelow }, colour: { [CLASS_GROUND_GLASS]: GROUND_GLASS, [CLASS_CONSOLIDATION]: CONSOLIDATION } },
    { isHu: false, options: {}, colour: { [CLASS_GROUND_GLASS]: LESION, [CLASS_CONSOLIDATION]: LESION } },
  ];
  for (const { isHu, options, colour } of cases) {
    const slices = overlaySlices(p.ct, p.lungs, p.lesions, isHu, options);
    const checked = { [CLASS_GROUND_GLASS]: 0, [CLASS_CONSOLIDATION]: 0 };
    for (const slice of slices) {
      // The slice's own PNG (overlay-slice*.png), decoded by fast-png: 15 × 8 voxels scaled by 26 (to ≥ 384 px) under the title bar.
      const png = decode(figureToPng(slice.image));
      const f = Math.ceil(384 / nx);
      const top = png.height - ny * f;
      const greys = ctSliceToRgb(p.ct.data.subarray(slice.z * nx * ny, (slice.z + 1) * nx * ny), nx, ny, { window: isHu ? LUNG_WINDOW_HU : 'auto' });
      const pixel = (x: number, y: number) => [0, 1, 2].map((ch) => png.data[3 * ((top + y * f + (f >> 1)) * png.width + x * f + (f >> 1)) + ch]!);
      for (let y = 1; y < ny - 1; y++) for (let x = 1; x < nx - 1; x++) {
        const i = index(x, y, slice.z);
        const c = classes.data[i]!;
        // Voxels inside a lung (all four neighbours of the same lung: no outline there) with lesion.
        const inner = [i - 1, i + 1, i - nx, i + nx].every((k) => p.lungs.data[k] === p.lungs.data[i]);
        if (!c || !inner) continue;
        // The CT's grey (lung window for HU, the slice's own range without), then the lesion's colour blended over it.
        const grey = greys.data[3 * (x + nx * y)]!;
        const want = colour[c as 1 | 2].map((v) => blendChannel(grey, v, LESION_ALPHA));
        assert.deepEqual(pixel(x, y), want, `${isHu ? 'HU' : 'no HU'}: slice ${slice.z} voxel (${x}, ${y}), class ${c}`);
        checked[c as 1 | 2]++;
      }
    }
    // Both types are on the slices shown (the most-lesion slice is the left upper third's, the others reach the consolidation).
    assert.ok(checked[CLASS_GROUND_GLASS] >= 8 && checked[CLASS_CONSOLIDATION] >= 4, JSON.stringify(checked));
    // The sheet's key: the two types' own colours for HU input; one lesion colour and no type colour without HU.
    const sheet = decode(figureToPng(overlaySheet(slices, { types: options.consolidationFrom !== undefined })));
    const has = (rgb: readonly number[]) => { for (let k = 0; k < sheet.data.length; k += 3) if (sheet.data[k] === rgb[0] && sheet.data[k + 1] === rgb[1] && sheet.data[k + 2] === rgb[2]) return true; return false; };
    assert.deepEqual([has(GROUND_GLASS), has(CONSOLIDATION), has(LESION)], isHu ? [true, true, false] : [false, false, true]);
    assert.ok(sheet.height > decode(figureToPng(overlaySheet(slices))).height, 'the key is below the slices');
  }
});
