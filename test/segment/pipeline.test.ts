/**
 * The segment core (src/segment/pipeline.ts) with stand-in models: one reorientation and
 * one HU check at its entry, masks back on the input's grid, every lung model of the
 * registry (lobes folded into their lung), "no lungs" refused in the pipeline's words.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { segmentCt, type SegmentModels } from '../../src/segment/pipeline.js';
import { openLungModel } from '../../src/lungs/models.js';
import { lungSidesOf, type LungRunOptions, type LungSegmenter } from '../../src/lungs/segmenter.js';
import type { SegmentationModel } from '../../src/infer/segmentation-model.js';
import { asLps, fromLps, orientationCode } from '../../src/volume/index.js';
import { createVolume, type LabelMap, type Mat3, type Vec3, type Volume } from '../../src/volume/volume.js';
import { fixturePath, referenceCt } from '../lungs/fixtures.js';

/** A 2D lesion model that finds nothing, without a network. */
function noLesions(): SegmentationModel {
  return {
    file: 'none.onnx',
    spec: { task: 'lesion', dims: 2, inputSize: 64, inputTransform: 'clahe-v2', threshold: 0.5 },
    onnx: { source: 'none.onnx', metadata: {}, inputName: 'x', outputName: 'y', run: async (input, shape) => ({ data: new Float32Array(input.length), shape }), release: async () => {} },
  };
}

/** A CT stored RAS-wise (x and y flipped against LPS, as NIfTI stores it), air around a body of soft tissue. */
function rasCt(): Volume<Int16Array> {
  const dims: Vec3 = [80, 72, 4];
  const data = new Int16Array(dims[0] * dims[1] * dims[2]).fill(-1000);
  for (let z = 0; z < dims[2]; z++) for (let y = 8; y < 64; y++) for (let x = 6; x < 74; x++) data[(z * dims[1] + y) * dims[0] + x] = 40;
  return createVolume(data, dims, { spacingMm: [0.8, 0.7, 5], origin: [30, 25, -10], direction: [-1, 0, 0, 0, -1, 0, 0, 0, 1] as Mat3 });
}

const META = { format: 'nifti' as const, path: 'ct.nii.gz', warnings: [] };

test('segmentCt: the lung model gets the CT in LPS order and the one HU check; the masks go back onto the input grid', async () => {
  const ct = rasCt();
  assert.equal(orientationCode(ct.direction), 'RAS');
  const seen: { ct: Volume; run: LungRunOptions }[] = [];
  // Right lung on the patient's right (low x in LPS order), left lung on the left.
  const lungs: LungSegmenter = {
    name: 'stand-in',
    classes: ['background', 'right lung', 'left lung'],
    async segment(view, run = {}) {
      seen.push({ ct: view, run });
      const out = new Uint8Array(view.data.length);
      const [nx, ny] = view.dims;
      for (let i = 0; i < out.length; i++) {
        const x = i % nx, y = Math.floor(i / nx) % ny;
        if (y >= 20 && y < 50) out[i] = x >= 15 && x < 35 ? 1 : x >= 45 && x < 65 ? 2 : 0;
      }
      return createVolume(out, view.dims, view);
    },
    release: async () => {},
  };
  const r = await segmentCt(ct, META, async () => ({ lungs, lesion: noLesions() }));
  assert.equal(seen.length, 1);
  assert.equal(orientationCode(seen[0]!.ct.direction), 'LPS', 'the model reads the CT in LPS order');
  assert.equal(seen[0]!.ct.data, r.lps.ct.data, 'the one reoriented copy, not another');
  assert.equal(seen[0]!.run.hu?.isHu, true, 'the HU check is handed on');
  assert.equal(seen[0]!.run.huCheck, 'off', 'and not made again');
  assert.equal(r.report.input.isHu, true);
  assert.deepEqual(r.report.input.dims, ct.dims);
  const onInput = fromLps(r.lps.lungs, r.transform);
  assert.deepEqual(onInput.dims, ct.dims);
  assert.deepEqual(onInput.direction, ct.direction);
  // Voxel (x, y) in LPS order is voxel (nx − 1 − x, ny − 1 − y) as stored.
  const [nx, ny] = ct.dims;
  assert.equal(onInput.data[(30 * nx) + (nx - 1 - 20)], 1, 'right lung at its stored place');
  assert.equal(onInput.data[(30 * nx) + (nx - 1 - 50)], 2, 'left lung at its stored place');
  assert.equal(r.report.lungs.right.voxels, 20 * 30 * 4);
  assert.equal(r.report.lungs.left.voxels, 20 * 30 * 4);
  assert.ok(r.report.lungs.total.volumeMl! > 0);
  assert.equal(r.report.models.lung, 'stand-in');
  // The lesion model's probability comes along, on the LPS grid, what the lesion mask thresholds (pseudo-label's confidence).
  assert.deepEqual(r.lesionProbability?.dims, r.lps.ct.dims);
  assert.deepEqual(r.lesionProbability?.direction, r.lps.ct.direction);
  assert.ok(r.lesionProbability!.data.every((p) => p < 0.5) && r.lps.lesions.data.every((v) => v === 0));
});

test('segmentCt: a CT already in LPS order is not copied', async () => {
  const ras = rasCt();
  const lps = asLps(ras).volume;
  let got: Volume | undefined;
  const lungs: LungSegmenter = {
    name: 'stand-in', classes: ['background', 'right lung', 'left lung'],
    async segment(view) {
      got = view;
      return createVolume(new Uint8Array(view.data.length).fill(1), view.dims, view);
    },
    release: async () => {},
  };
  const r = await segmentCt(lps, META, async () => ({ lungs, lesion: noLesions() }));
  assert.equal(got!.data, lps.data);
  assert.equal(r.lps.ct.data, lps.data);
  assert.equal(fromLps(r.lps.lungs, r.transform).data, r.lps.lungs.data, 'and the masks are not copied back either');
});

test('segmentCt: an image file without lungs is refused in the pipeline\'s words; a scan without lungs gets no grade; neither runs the lesion model', async () => {
  let lesionRuns = 0;
  const lesion = noLesions();
  const counting: SegmentationModel = { ...lesion, onnx: { ...lesion.onnx, run: async (i, s) => (lesionRuns++, lesion.onnx.run(i, s)) } };
  const empty: LungSegmenter = { name: 'empty', classes: ['background', 'right lung', 'left lung'], segment: async (v) => createVolume(new Uint8Array(v.data.length), v.dims, v), release: async () => {} };
  const slice = createVolume(new Uint8Array(80 * 80).fill(90), [80, 80, 1]);
  await assert.rejects(segmentCt(slice, { format: 'png', path: 'flat.png', warnings: [] }, async () => ({ lungs: empty, lesion: counting })), /^CovsegError: flat\.png: no lungs were found in this image, so lung involvement cannot be measured/);
  const scan = await segmentCt(rasCt(), META, async () => ({ lungs: empty, lesion: counting }));
  assert.equal(scan.report.lungs.total.voxels, 0);
  assert.equal(scan.report.severity.category, null);
  assert.equal(lesionRuns, 0);
});

test('segmentCt: what the lung model\'s anatomy rules tell (pure air dropped as gas) reaches the quality block', async () => {
  const lungs: LungSegmenter = {
    name: 'stand-in', classes: ['background', 'right lung', 'left lung'],
    async segment(view, run = {}) {
      run.onAnatomy?.({ outsideBodyMl: 0, gasMl: 900, detachedMl: 0, largestGasMl: 900, droppedGasMl: 900, pureAirLungMl: 0 });
      const [nx] = view.dims;
      return createVolume(Uint8Array.from({ length: view.data.length }, (_, i) => ((i % nx) > 15 && (i % nx) < 30 ? 1 : (i % nx) > 45 && (i % nx) < 60 ? 2 : 0)), view.dims, view);
    },
    release: async () => {},
  };
  const r = await segmentCt(rasCt(), META, async () => ({ lungs, lesion: noLesions() }));
  assert.ok(r.report.quality.warnings.includes("900 mL of the model's lung was pure air and was dropped as gas (beneath or below the lungs, or a lone piece); emphysema? If that was lung, the lung mask misses it"), r.report.quality.warnings.join('; '));
});

test('lungSidesFor: on a scan in HU the anatomy\'s record goes to onAnatomy', async () => {
  const { lungSidesFor } = await import('../../src/lungs/lung-sides.js');
  const { chestPhantom, everythingDark } = await import('../lungs/chest-phantom.js');
  const p = chestPhantom({ emphysema: 'both' });
  let told: number | undefined;
  lungSidesFor(p.ct, everythingDark(p), true, (removed) => (told = removed.pureAirLungMl));
  assert.ok(told! > 1500, `pure-air lung told: ${told}`);
});

test('segmentCt: the models are asked for only after the input checks passed', async () => {
  let asked = false;
  const windowed = createVolume(new Uint8Array(80 * 80).fill(128), [80, 80, 1], { spacingMm: [0.7, 0.7, 5] });
  const models = async (): Promise<SegmentModels> => { asked = true; throw new Error('not reached'); };
  await assert.rejects(segmentCt(windowed, META, models), /ct\.nii\.gz: the values are not Hounsfield units .*; pass --force/);
  assert.equal(asked, false);
});

test('lungSidesOf: lobes fold into their lung, lung labels stay as they are', () => {
  const lobes = createVolume(Uint8Array.from([0, 1, 2, 3, 4, 5]), [6, 1, 1]);
  const LOBES = ['background', 'left upper lobe', 'left lower lobe', 'right upper lobe', 'right middle lobe', 'right lower lobe'];
  assert.deepEqual([...lungSidesOf(lobes, LOBES).data], [0, 2, 2, 1, 1, 1]);
  const sides = createVolume(Uint8Array.from([0, 1, 2]), [3, 1, 1]);
  assert.equal(lungSidesOf(sides, ['background', 'right lung', 'left lung']), sides);
});

test('segmentCt with the registry\'s ltrclobes (lungmask fixture weights): its lobes counted as right and left lung, named as the registry names it', async () => {
  const ct = referenceCt();
  const lobes = await openLungModel('ltrclobes', { weightsPath: fixturePath('lobes-tiny-legacy.pth'), threads: 1 });
  try {
    const r = await segmentCt(ct, { ...META, path: 'reference.nii.gz' }, async () => ({ lungs: lobes, lesion: noLesions() }));
    // The registry's model on the CT in LPS order, as the pipeline hands it over, lobes folded by their class names.
    const expected = lungSidesOf(await lobes.segment(asLps(ct).volume, { huCheck: 'off' }), lobes.classes) as LabelMap;
    assert.deepEqual([...r.lps.lungs.data], [...expected.data]);
    assert.ok(expected.data.includes(1) && expected.data.includes(2), 'both lungs found');
    const count = (v: number) => expected.data.reduce((n, x) => n + (x === v ? 1 : 0), 0);
    assert.equal(r.report.lungs.right.voxels, count(1));
    assert.equal(r.report.lungs.left.voxels, count(2));
    assert.equal(r.report.models.lung, 'ltrclobes:lobes-tiny-legacy.pth');
  } finally {
    await lobes.release();
  }
});
