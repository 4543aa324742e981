import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import jpeg from 'jpeg-js';
import { encodePng } from '../../src/io/index.js';
import { loadCase, matchRendering, orientGrey, pairRenderings, placeOnRendering, scanSemisegPseudo, PAIRS_FILE, type Grey2d, type ReferenceSlice } from '../../src/datasets/index.js';
import { Rng } from '../../src/util/random.js';

const SIZE = 96;

/** A reference slice: two elliptic lungs (dark, with bright "vessels" at random spots) in a grey body; its lung mask 0/255; a lesion blob. */
function referenceSlice(seed: number, shift = 0): { ct: Grey2d; lung: Grey2d; lesion: Grey2d } {
  const rng = new Rng(seed);
  const ct = new Float32Array(SIZE * SIZE).fill(140);
  const lung = new Float32Array(SIZE * SIZE);
  const lesion = new Float32Array(SIZE * SIZE);
  for (let y = 0; y < SIZE; y++) {
    for (let x = 0; x < SIZE; x++) {
      const inL = ((x - 30 - shift) / 16) ** 2 + ((y - 48) / 26) ** 2 < 1;
      const inR = ((x - 66 - shift) / 14) ** 2 + ((y - 50) / 24) ** 2 < 1;
      if (inL || inR) (lung[y * SIZE + x] = 255), (ct[y * SIZE + x] = 30);
      if (((x - 28 - shift) / 5) ** 2 + ((y - 40) / 7) ** 2 < 1) lesion[y * SIZE + x] = 255;
    }
  }
  for (let k = 0; k < 120; k++) {
    const x = Math.floor(rng.next() * SIZE), y = Math.floor(rng.next() * SIZE);
    if (lung[y * SIZE + x]) ct[y * SIZE + x] = 200;
  }
  return { ct: { width: SIZE, height: SIZE, data: ct }, lung: { width: SIZE, height: SIZE, data: lung }, lesion: { width: SIZE, height: SIZE, data: lesion } };
}

/** What Inf-Net did to a slice: crop to the lung box, scale by 2, another intensity mapping, a turn. */
function render(ref: Grey2d, lung: Grey2d): Grey2d {
  let x0 = SIZE, y0 = SIZE, x1 = 0, y1 = 0;
  for (let y = 0; y < SIZE; y++) for (let x = 0; x < SIZE; x++) if (lung.data[y * SIZE + x]) (x0 = Math.min(x0, x)), (x1 = Math.max(x1, x)), (y0 = Math.min(y0, y)), (y1 = Math.max(y1, y));
  const w = 2 * (x1 - x0 + 1), h = 2 * (y1 - y0 + 1);
  const crop = new Float32Array(w * h);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) crop[y * w + x] = 10 + 0.8 * ref.data[(y0 + Math.floor(y / 2)) * SIZE + x0 + Math.floor(x / 2)]!;
  return orientGrey({ width: w, height: h, data: crop }, 5);
}

test('matchRendering finds the slice, the turn and the crop box of a rendering among its neighbours; the masks carry over', () => {
  const slices = [0, 1, 2, 3].map((i) => referenceSlice(10 + i, i % 2));
  const refs: ReferenceSlice[] = slices.map((s, i) => ({ id: `s${i}`, ct: s.ct, lung: s.lung }));
  const rendering = render(slices[2]!.ct, slices[2]!.lung);
  const match = matchRendering(rendering, refs);
  assert.ok(match);
  assert.equal(match.reference, 's2', JSON.stringify(match));
  assert.ok(match.correlation > 0.8, `correlation ${match.correlation}`);
  // Turning the rendering by the found orientation gives the crop's frame: the lungs come back on the rendering's grid.
  const lungOnRendering = placeOnRendering(slices[2]!.lung, 255, match.placement, rendering.width, rendering.height);
  let dark = 0, both = 0, lungPx = 0;
  for (let i = 0; i < lungOnRendering.length; i++) {
    const d = rendering.data[i]! < 70 ? 1 : 0;
    dark += d;
    lungPx += lungOnRendering[i]!;
    both += d & lungOnRendering[i]!;
  }
  assert.ok((2 * both) / (dark + lungPx) > 0.95, `lung Dice ${(2 * both) / (dark + lungPx)} ${JSON.stringify(match)}`);
  assert.ok(match.lungDice > 0.95);
});

test('matchRendering: no reference with a lung box of the rendering\'s shape → undefined', () => {
  const s = referenceSlice(1);
  assert.equal(matchRendering({ width: 400, height: 20, data: new Float32Array(8000) }, [{ id: 'a', ct: s.ct, lung: s.lung }]), undefined);
});

test('pair-renderings folders → semiseg-pseudo cases: patient group of the reference, masks on the rendering grid', async () => {
  const root = await mkdtemp(join(tmpdir(), 'covseg-pairs-'));
  try {
    const zen = join(root, 'zenodo20-slices');
    const rend = join(root, 'Imgs');
    for (const d of ['ct', 'lungs', 'covid']) await mkdir(join(zen, d), { recursive: true });
    await mkdir(rend);
    const rows = ['file,patient_group,source'];
    const slices = [0, 1, 2].map((i) => referenceSlice(20 + i, i));
    for (const [i, s] of slices.entries()) {
      const name = `000${i}.png`;
      rows.push(`${name},coronacases_003,coronacases`);
      for (const [dir, img] of [['ct', s.ct], ['lungs', s.lung], ['covid', s.lesion]] as const) {
        await writeFile(join(zen, dir, name), encodePng({ width: SIZE, height: SIZE, channels: 1, data: Uint8Array.from(img.data) }));
      }
    }
    await writeFile(join(zen, 'slices.csv'), rows.join('\n') + '\n');
    const r = render(slices[1]!.ct, slices[1]!.lung);
    const rgba = new Uint8Array(r.width * r.height * 4);
    for (let i = 0; i < r.data.length; i++) rgba.fill(Math.round(r.data[i]!), 4 * i, 4 * i + 3), (rgba[4 * i + 3] = 255);
    await writeFile(join(rend, 'Data-1_coronacases_org_003_7.jpg'), jpeg.encode({ width: r.width, height: r.height, data: rgba }, 95).data);
    // A rendering of an unknown slice: no pair.
    await writeFile(join(rend, 'Data-1_coronacases_org_003_8.jpg'), jpeg.encode({ width: 50, height: 300, data: new Uint8Array(50 * 300 * 4).fill(90) }, 95).data);
    const pairs = await pairRenderings(rend, zen);
    assert.equal(pairs.pairs.length, 1);
    assert.equal(pairs.pairs[0]!.reference, '0001');
    assert.equal(pairs.unpaired.length, 1);
    const out = join(root, 'pairs');
    await mkdir(out);
    await writeFile(join(out, PAIRS_FILE), JSON.stringify(pairs));
    const scan = await scanSemisegPseudo(out);
    assert.equal(scan.cases.length, 1);
    const ref = scan.cases[0]!;
    assert.equal(ref.patientGroup, 'coronacases:003');
    const loaded = await loadCase(ref);
    assert.deepEqual(loaded.ct.dims, [r.width, r.height, 1]);
    assert.deepEqual(loaded.lesionMask.dims, loaded.ct.dims);
    // The lesion blob (5×7 px ellipse, scaled by 2) lands on the rendering: ~4·π·35 ≈ 440 pixels.
    const lesion = loaded.lesionMask.data.reduce((a, v) => a + v, 0);
    assert.ok(lesion > 300 && lesion < 600, `lesion pixels ${lesion}`);
    assert.ok(loaded.lungMask);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});
