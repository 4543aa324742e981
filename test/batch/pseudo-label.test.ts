import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { readImage, readVolume, writeVolume } from '../../src/io/index.js';
import { createVolume } from '../../src/volume/volume.js';
import { DEFAULT_LESION_MODEL_PATH, segmentCase } from '../../src/segment/index.js';
import { DEFAULT_LUNG_MODEL_PATH } from '../../src/lungs/default-model.js';
import { buildDatabase, loadSplits, loadManifest } from '../../src/database/index.js';
import { readPseudoLabels, scanPseudoLabels, zenodoGroupInName, type PseudoLabelsFile } from '../../src/datasets/index.js';
import { teacherConfidence } from '../../src/batch/index.js';
import { needsShared, PROJECT_ROOT, sharedPath } from '../helpers/shared-data.js';
import { runCovseg } from '../helpers/run-cli.js';
import { writeMedseg100Layout } from '../helpers/synthetic-datasets.js';

const skip = !(existsSync(DEFAULT_LUNG_MODEL_PATH) && existsSync(DEFAULT_LESION_MODEL_PATH)) && 'shipped models missing in models/';
const EXAMPLES = resolve(PROJECT_ROOT, 'examples/zenodo20-slices/ct');
/** Three slices named as COVID-SemiSeg's unlabelled renderings are: two of coronacases 001, one of 002 (1397 mirrored left–right). */
const SLICES = ['Data-K_coronacases_org_001_1.png', 'Data-K_coronacases_org_001_2.png', 'Data-K_coronacases_org_002_1.png'];
const GROUP_BY = '(coronacases)_org_(\\d+)';
let dir = '';
let slices = '';

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'covseg-pseudo-'));
  slices = join(dir, 'unlabelled');
  await mkdir(slices);
  const a = (await readImage(join(EXAMPLES, '1316.png'))).volume;
  const b = (await readImage(join(EXAMPLES, '1397.png'))).volume;
  const [w, h] = b.dims;
  const mirrored = new Uint8Array(w * h);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) mirrored[y * w + x] = b.data[y * w + (w - 1 - x)]!;
  await writeVolume(join(slices, SLICES[0]!), createVolume(Uint8Array.from(a.data), a.dims, a));
  await writeVolume(join(slices, SLICES[1]!), createVolume(Uint8Array.from(b.data), b.dims, b));
  await writeVolume(join(slices, SLICES[2]!), createVolume(mirrored, b.dims, b));
});
after(() => rm(dir, { recursive: true, force: true }));

const pseudoLabel = (out: string, ...more: string[]) =>
  runCovseg(['pseudo-label', '--model', DEFAULT_LESION_MODEL_PATH, '--input', slices, '--out', out, '--threads', '1', '--group-by', GROUP_BY, ...more]);

/** Every file under `root` with its modification time. */
async function mtimes(root: string): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for (const sub of ['', 'images', 'lungs', 'lesions']) {
    for (const name of await readdir(join(root, sub)).catch(() => [])) {
      const st = await stat(join(root, sub, name));
      if (st.isFile()) out.set(join(sub, name), st.mtimeMs);
    }
  }
  return out;
}

test('pseudo-label: image, lungs and the teacher\'s lesions per slice, as segment finds them, and the manifest; a rerun resumes; --exclude drops a slice', { skip }, async () => {
  const out = join(dir, 'pl');
  const first = pseudoLabel(out);
  assert.equal(first.status, 0, first.stderr);
  assert.match(first.stdout, /^3 labelled, 0 kept from an earlier run \(same teacher\); 0 left out by --exclude$/m);
  const manifest = await readPseudoLabels(out);
  assert.equal(manifest.teacher.sha256.length, 64);
  assert.deepEqual(manifest.items.map((i) => [i.id, i.kind, i.patientGroup]), [
    ['Data-K_coronacases_org_001_1', 'slice', 'coronacases:001'],
    ['Data-K_coronacases_org_001_2', 'slice', 'coronacases:001'],
    ['Data-K_coronacases_org_002_1', 'slice', 'coronacases:002'],
  ]);
  for (const item of manifest.items) {
    assert.equal(item.skipped, undefined);
    assert.equal(item.teacherSha256, manifest.teacher.sha256);
    assert.ok(item.lungPixels > 5000 && item.lesionPixels > 0 && item.confidence > 0 && item.confidence <= 1, JSON.stringify(item));
    // The image is the input's bytes.
    assert.deepEqual(await readFile(join(out, item.files!.image)), await readFile(item.input));
  }
  // The pseudo lesions are segment's, pixel for pixel (one pipeline).
  const seg = await segmentCase(join(slices, SLICES[1]!), join(dir, 'seg'), { threads: 1 });
  const mine = manifest.items[1]!.files!;
  assert.deepEqual((await readVolume(join(out, mine.lesion))).data, (await readVolume(seg.files.lesionsPng!)).data);
  assert.deepEqual((await readVolume(join(out, mine.lung))).data, (await readVolume(seg.files.lungsPng!)).data);

  // Rerun: the same teacher's items are kept; nothing is written.
  const times = await mtimes(out);
  const again = pseudoLabel(out);
  assert.equal(again.status, 0, again.stderr);
  assert.match(again.stdout, /^0 labelled, 3 kept/m);
  assert.deepEqual(await mtimes(out), times);

  // --exclude: the slice leaves the manifest and the folder; the others are kept, not relabelled.
  const excluded = pseudoLabel(out, '--exclude', '_002_');
  assert.equal(excluded.status, 0, excluded.stderr);
  assert.match(excluded.stdout, /^0 labelled, 2 kept from an earlier run \(same teacher\); 1 left out by --exclude$/m);
  const after = await readPseudoLabels(out);
  assert.deepEqual(after.items.map((i) => i.id), ['Data-K_coronacases_org_001_1', 'Data-K_coronacases_org_001_2']);
  assert.deepEqual(after.excluded, [SLICES[2]]);
  assert.deepEqual(await readdir(join(out, 'lesions')), ['Data-K_coronacases_org_001_1.png', 'Data-K_coronacases_org_001_2.png']);

  // --min-confidence on kept items: the less confident one is listed as skipped, no model run; scanning leaves it out.
  const [lo, hi] = [...after.items].sort((x, y) => x.confidence - y.confidence);
  assert.ok(lo!.confidence < hi!.confidence);
  const strict = pseudoLabel(out, '--exclude', '_002_', '--min-confidence', String(hi!.confidence));
  assert.equal(strict.status, 0, strict.stderr);
  assert.match(strict.stdout, new RegExp(`1 skipped, e\\.g\\. ${lo!.id}: confidence ${lo!.confidence.toFixed(3)} is below --min-confidence`));
  const scan = await scanPseudoLabels(out);
  assert.deepEqual(scan.cases.map((c) => c.originalId), [hi!.id]);
  assert.match(scan.notes.join('\n'), /1 item skipped by pseudo-label/);
});

test('pseudo-label refuses a bad input file in one line, naming it, before any model runs', { skip }, async () => {
  const bad = join(dir, 'with-bad');
  await mkdir(bad);
  await writeFile(join(bad, 'a.png'), await readFile(join(slices, SLICES[0]!)));
  await writeFile(join(bad, 'b.png'), (await readFile(join(slices, SLICES[1]!))).subarray(0, 300));
  const out = join(dir, 'pl-bad');
  const r = runCovseg(['pseudo-label', '--model', DEFAULT_LESION_MODEL_PATH, '--input', bad, '--out', out, '--threads', '1']);
  assert.equal(r.status, 1);
  const lines = r.stderr.trim().split('\n');
  assert.equal(lines.length, 1, r.stderr);
  assert.match(lines[0]!, new RegExp(`^covseg pseudo-label: error: ${join(bad, 'b.png')}: corrupt PNG`));
  assert.deepEqual(await readdir(out).catch(() => []), [], 'nothing labelled');
  // A --group-by that misses a name is refused the same way.
  const group = runCovseg(['pseudo-label', '--model', DEFAULT_LESION_MODEL_PATH, '--input', slices, '--out', out, '--group-by', 'radiopaedia_(\\d+)']);
  assert.equal(group.status, 1);
  assert.match(group.stderr, new RegExp(`^covseg pseudo-label: error: ${join(slices, SLICES[0]!)}: --group-by 'radiopaedia_\\(\\\\d\\+\\)' does not match this file's name`));
  await writeFile(join(bad, 'b.png'), await readFile(join(slices, SLICES[1]!)));
  const zenodo = runCovseg(['pseudo-label', '--model', DEFAULT_LESION_MODEL_PATH, '--input', bad, '--out', out, '--group-by', 'zenodo']);
  assert.equal(zenodo.status, 1);
  assert.match(zenodo.stderr, new RegExp(`^covseg pseudo-label: error: ${join(bad, 'a.png')}: --group-by zenodo: the file's name carries no Zenodo 3757476 scan name`));
});

test('build-db --source pseudo-labels: the pseudo-labelled slices go to train only, beside an expert source; a damaged manifest is named', { skip }, async () => {
  const out = join(dir, 'pl-db');
  const r = pseudoLabel(out);
  assert.equal(r.status, 0, r.stderr);
  await writeMedseg100Layout(join(dir, 'medseg100'), { size: 64, slices: 12 });
  const db = join(dir, 'db');
  const summary = await buildDatabase({ sources: [{ name: 'medseg100', root: join(dir, 'medseg100') }, { name: 'pseudo-labels', root: out }], out: db }, { workers: 0, overview: false });
  assert.equal(summary.totals.failed, 0, JSON.stringify(summary.warnings));
  const manifest = await loadManifest(db);
  const splits = await loadSplits(db);
  const pseudo = manifest.cases.filter((c) => c.source === 'pseudo-labels');
  assert.equal(pseudo.length, 3);
  for (const c of pseudo) assert.equal(splits.caseSplit[c.caseId], 'train', c.caseId);
  assert.ok(manifest.cases.some((c) => c.source === 'medseg100' && splits.caseSplit[c.caseId] !== 'train'), 'the expert source still has validation/test cases');
  assert.deepEqual(splits.strata['pseudo-labels'], { train: 2, validation: 0, test: 0 });

  // A pseudo-labelled slice of a patient the expert source holds out: in no split, and build-db says so.
  const heldOut = manifest.cases.find((c) => c.source === 'medseg100' && splits.caseSplit[c.caseId] === 'test')!;
  const file0 = join(out, 'pseudo-labels.json');
  const edited = JSON.parse(await readFile(file0, 'utf8')) as PseudoLabelsFile;
  edited.items[0]!.patientGroup = heldOut.patientGroup;
  await writeFile(file0, JSON.stringify(edited));
  const warned: string[] = [];
  await buildDatabase({ sources: [{ name: 'medseg100', root: join(dir, 'medseg100') }, { name: 'pseudo-labels', root: out }], out: db }, { workers: 0, overview: false, onWarning: (m) => warned.push(m) });
  const split2 = await loadSplits(db);
  const moved = (await loadManifest(db)).cases.find((c) => c.originalId === edited.items[0]!.id)!;
  assert.equal(split2.caseSplit[moved.caseId], undefined);
  assert.match(split2.leftOut?.[moved.caseId] ?? '', new RegExp(`^patient group '${heldOut.patientGroup}' is in the test split \\(source medseg100\\)`));
  assert.ok(warned.some((w) => w.startsWith(`1 train-only case is in no split, e.g. ${moved.caseId}: `) && w.endsWith('leave those patients out of pseudo-label with --exclude')), warned.join('\n'));
  for (const c of manifest.cases.filter((c) => c.source === 'medseg100')) assert.equal(split2.caseSplit[c.caseId], splits.caseSplit[c.caseId], 'the expert split unmoved');

  // A damaged manifest: build-db and a pseudo-label rerun name it and say what to do.
  const file = join(out, 'pseudo-labels.json');
  const good = JSON.parse(await readFile(file, 'utf8')) as PseudoLabelsFile;
  await writeFile(file, '{"format": "covseg-pseudo-labels", "items": [');
  await assert.rejects(scanPseudoLabels(out), (err: Error) => err.message.startsWith(`${file}: the pseudo-labels manifest is not valid JSON`) && !err.message.includes('\n'));
  const rerun = pseudoLabel(out);
  assert.equal(rerun.status, 1);
  assert.match(rerun.stderr, new RegExp(`^covseg pseudo-label: error: ${file}: the pseudo-labels manifest is not valid JSON .*; make it again with covseg pseudo-label --overwrite\\n$`));
  good.items[1]!.confidence = 2;
  await writeFile(file, JSON.stringify(good));
  await assert.rejects(scanPseudoLabels(out), (err: Error) => err.message.startsWith(`${file}: `) && /items\[1\]\.confidence/.test(err.message) && !err.message.includes('\n'));
  // What the message says to do: --overwrite labels afresh.
  const fresh = pseudoLabel(out, '--overwrite');
  assert.equal(fresh.status, 0, fresh.stderr);
  assert.match(fresh.stdout, /^3 labelled, 0 kept/m);
  assert.equal((await readPseudoLabels(out)).items.length, 3);
});

test('a CT volume (the example DICOM file): NIfTI image and masks on its grid, one 3D case of build-db, in train', { skip }, async () => {
  const dicom = resolve(PROJECT_ROOT, 'examples/chest-ct-dicom-slice/chest-ct.dcm');
  const out = join(dir, 'pl-volume');
  const r = runCovseg(['pseudo-label', '--model', DEFAULT_LESION_MODEL_PATH, '--input', dicom, '--out', out, '--threads', '1']);
  assert.equal(r.status, 0, r.stderr);
  const [item] = (await readPseudoLabels(out)).items;
  assert.deepEqual([item!.id, item!.kind, item!.patientGroup], ['chest-ct', 'volume', 'pseudo-labels:chest-ct']);
  assert.deepEqual(item!.files, { image: 'images/chest-ct.nii.gz', lung: 'lungs/chest-ct.nii.gz', lesion: 'lesions/chest-ct.nii.gz' });
  const ct = (await readImage(dicom)).volume;
  for (const f of Object.values(item!.files!)) {
    const v = await readVolume(join(out, f));
    assert.deepEqual(v.dims, ct.dims, f);
    assert.deepEqual(v.spacingMm.map((s) => +s.toFixed(4)), ct.spacingMm.map((s) => +s.toFixed(4)), f);
  }
  const db = join(dir, 'db-volume');
  await buildDatabase({ sources: [{ name: 'pseudo-labels', root: out }], out: db }, { workers: 0, overview: false });
  const manifest = await loadManifest(db);
  assert.deepEqual(manifest.cases.map((c) => [c.caseId, c.kind]), [['Case-0000', 'volume']]);
  assert.equal((await loadSplits(db)).caseSplit['Case-0000'], 'train');
});

test('real COVID-SemiSeg renderings (shared data): --group-by zenodo gives the Zenodo scans\' patient groups; all labelled', { skip: skip || needsShared('covid-semiseg/TrainingSet/LungInfection-Train/Pseudo-label/Imgs') }, async () => {
  const imgs = sharedPath('covid-semiseg/TrainingSet/LungInfection-Train/Pseudo-label/Imgs');
  const names = ['Data-1_coronacases_org_001_100.jpg', 'Data-1_coronacases_org_001_50.jpg', 'Data-1_radiopaedia_org_covid-19-pneumonia-10_85902_3-dcm_85.jpg'];
  const out = join(dir, 'pl-real');
  const r = runCovseg(['pseudo-label', '--model', DEFAULT_LESION_MODEL_PATH, ...names.flatMap((n) => ['--input', join(imgs, n)]), '--out', out, '--threads', '1', '--group-by', 'zenodo']);
  assert.equal(r.status, 0, r.stderr);
  const items = (await readPseudoLabels(out)).items;
  assert.deepEqual(items.map((i) => [i.id, i.patientGroup, i.skipped]), [
    ['Data-1_coronacases_org_001_100', 'coronacases:001', undefined],
    ['Data-1_coronacases_org_001_50', 'coronacases:001', undefined],
    ['Data-1_radiopaedia_org_covid-19-pneumonia-10_85902_3-dcm_85', 'radiopaedia-case:10', undefined],
  ]);
  for (const i of items) assert.ok(i.lungPixels > 10_000 && i.confidence > 0.5, JSON.stringify(i));
});

test('zenodoGroupInName: the Zenodo scan a file name carries, as the zenodo source groups it', () => {
  assert.equal(zenodoGroupInName('Data-1_coronacases_org_007_12.jpg'), 'coronacases:007');
  assert.equal(zenodoGroupInName('Data-1_radiopaedia_org_covid-19-pneumonia-29_86491_1-dcm_3.jpg'), 'radiopaedia-case:29');
  assert.equal(zenodoGroupInName('coronacases_org_010.nii.gz'), 'coronacases:010');
  assert.equal(zenodoGroupInName('patient-17.png'), undefined);
});

test('teacherConfidence: mean |p − 0.5|·2 and the undecided share over the lung pixels only', () => {
  const p = createVolume(Float32Array.from([0, 1, 0.5, 0.4, 0.9, 0.2]), [6, 1, 1]);
  const lungs = createVolume(Uint8Array.from([1, 2, 1, 1, 0, 0]), [6, 1, 1]);
  const c = teacherConfidence(p, lungs);
  assert.equal(c.lungPixels, 4);
  assert.ok(Math.abs(c.confidence - (1 + 1 + 0 + 0.2) / 4) < 1e-6, String(c.confidence));
  assert.equal(c.uncertainShare, 2 / 4);
});
