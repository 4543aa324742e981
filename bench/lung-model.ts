/**
 * covseg's default lung model on real CT in Hounsfield units (it learned from 8-bit
 * slices): right/left pixel counts on the bundled DICOM chest slice against lungmask
 * R231's published counts, Dice against TotalSegmentator's lung lobes on the small real
 * CT volume (lung bases), and its speed per slice and per 512×512×300 volume.
 *   node dist/bench/lung-model.js [--quick]   (--quick: the speed on 30 slices; the real CT
 * part needs ../shared/data and is skipped without it)
 */
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { readVolume } from '../src/io/index.js';
import { createVolume } from '../src/volume/volume.js';
import { loadDefaultLungModel, segmentLungsDefault } from '../src/lungs/default-model.js';
import { confusion, diceFromCounts } from '../src/metrics/index.js';
import { needsShared, sharedPath } from '../test/helpers/shared-data.js';
import { PROJECT_ROOT_DIR } from './paths.js';

const { values } = parseArgs({ options: { quick: { type: 'boolean', default: false } } });
const emit = (o: Record<string, unknown>) => console.log(JSON.stringify({ bench: 'lung-model', ...o }));
const model = await loadDefaultLungModel(undefined, { threads: 2 });

// 1. The real DICOM slice: lungmask R231 labels it 32,376 right and 18,268 left pixels.
const slice = await readVolume(join(PROJECT_ROOT_DIR, 'examples/chest-ct-dicom-slice/chest-ct.dcm'));
const labels = await segmentLungsDefault(slice, { model });
let right = 0, left = 0;
for (const v of labels.data) v === 1 ? right++ : v === 2 ? left++ : 0;
emit({ case: 'dicom-slice-vs-r231', right_px: right, left_px: left, r231_right_px: 32376, r231_left_px: 18268, right_rel_diff: +((right - 32376) / 32376).toFixed(3), left_rel_diff: +((left - 18268) / 18268).toFixed(3) });

// 2. The small real CT (lower chest/abdomen, 3 mm): TotalSegmentator's lobes 10–14 = lungs.
const missing = needsShared('small-ct-volume');
if (missing) emit({ case: 'small-ct-vs-totalsegmentator', skipped: missing });
else {
  const shared = sharedPath('small-ct-volume');
  const ct = await readVolume(join(shared, 'example_ct_sm.nii.gz'));
  const seg = await readVolume(join(shared, 'example_seg.nii.gz'));
  const ref = Uint8Array.from(seg.data, (v) => (v >= 10 && v <= 14 ? 1 : 0));
  const pred = await segmentLungsDefault(ct, { model });
  const c = confusion(pred.data, ref);
  emit({ case: 'small-ct-vs-totalsegmentator', dims: ct.dims, lung_voxels_ref: c.tp + c.fn, lung_voxels_pred: c.tp + c.fp, dice: +diceFromCounts(c).toFixed(4) });
}

// 3. Speed: the DICOM slice stacked to 512×512×300.
const nz = values.quick ? 30 : 300;
const stack = new Int16Array(512 * 512 * nz);
for (let z = 0; z < nz; z++) stack.set(slice.data as Int16Array, z * 512 * 512);
const t0 = performance.now();
await segmentLungsDefault(createVolume(stack, [512, 512, nz], { spacingMm: [slice.spacingMm[0], slice.spacingMm[1], 1] }), { model });
const ms = performance.now() - t0;
emit({ case: `speed-512x512x${nz}`, ms_per_volume: Math.round(ms), ms_per_slice: +(ms / nz).toFixed(1), input_size: model.spec.inputSize, threads: 2 });
