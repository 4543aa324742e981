import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { access, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodePng, readVolume } from '../../src/io/index.js';
import { createVolume, type LabelMap, type Vec3, type Volume } from '../../src/volume/volume.js';
import { countNonzero } from '../../src/datasets/index.js';
import {
  buildDatabase,
  formatSummary,
  loadManifest,
  loadSplits,
  type BuildDatabaseOptions,
  type LungSegmenter,
  type SourceSpec,
} from '../../src/database/index.js';
import { boundWorkers } from '../../src/database/pool.js';
import { lockDatabase } from '../../src/database/lock.js';
import { MEDSEG9_GEOMETRY, writeMedseg100Layout, writeMedseg9Layout, writeMosmedLayout, writeNifti, writeZenodoLayout } from '../helpers/synthetic-datasets.js';

const DIMS: Vec3 = [24, 24, 8];
const FAST: BuildDatabaseOptions = { dims: DIMS, sliceSize: 24, workers: 0 };
let root: string;
let sources: SourceSpec[];

before(async () => {
  root = await mkdtemp(join(tmpdir(), 'covseg-build-'));
  await writeMosmedLayout(join(root, 'mosmed'), [{ id: 'study_0255' }, { id: 'study_0256' }, { id: 'study_0001', folder: 'CT-0', masked: false }]);
  await writeMedseg9Layout(join(root, 'medseg9'), [1, 2, 3]);
  await writeZenodoLayout(join(root, 'zenodo'), { stems: ['coronacases_org_001', 'radiopaedia_org_covid-19-pneumonia-10_85902_1-dcm'], coronaDims: [40, 40, 20], radiopaediaDims: [40, 40, 8] });
  await writeMedseg100Layout(join(root, 'medseg100'), { size: 24, slices: 3 });
  sources = [
    { name: 'zenodo', root: join(root, 'zenodo') },
    { name: 'medseg100', root: join(root, 'medseg100') },
    { name: 'mosmed', root: join(root, 'mosmed') },
    { name: 'medseg9', root: join(root, 'medseg9') },
  ];
});

after(async () => {
  await rm(root, { recursive: true, force: true });
});

const exists = (p: string) => access(p).then(() => true, () => false);

test('build-db: case numbering, files, manifest, splits, summary', async () => {
  const out = join(root, 'db');
  const progress: [number, number, string | undefined][] = [];
  const summary = await buildDatabase({ sources, out }, { ...FAST, onProgress: (done, total, _stage, caseId) => progress.push([done, total, caseId]) });
  // One call before the first case and one per case, naming it.
  const n = summary.totals.built;
  assert.deepEqual(progress.map(([done, total]) => `${done}/${total}`), Array.from({ length: n + 1 }, (_, k) => `${k}/${n}`));
  assert.ok(progress.slice(1).every(([, , id]) => /^(Case|Slice)-\d+$/.test(id!)), JSON.stringify(progress));
  // Numbering follows the canonical source order, not the order given.
  const manifest = await loadManifest(out);
  const ids = manifest.cases.map((c) => `${c.caseId}=${c.source}:${c.originalId}`);
  assert.deepEqual(ids, [
    'Case-0000=mosmed:study_0255',
    'Case-0001=mosmed:study_0256',
    'Case-0002=medseg9:1',
    'Case-0003=medseg9:2',
    'Case-0004=medseg9:3',
    'Case-0005=zenodo:coronacases_001',
    'Case-0006=zenodo:radiopaedia_10_85902_1',
    'Slice-00000=medseg100:slice_000',
    'Slice-00001=medseg100:slice_001',
    'Slice-00002=medseg100:slice_002',
  ]);
  assert.deepEqual(summary.totals, { found: 10, built: 10, skipped: 0, failed: 0, volumes3d: 7, slices2d: summary.totals.slices2d });
  assert.match(summary.sources.find((s) => s.source === 'mosmed')!.notes[0]!, /3 studies seen, 2 with a lesion mask; 1 studies without a mask/);
  const byId = new Map(manifest.cases.map((c) => [c.caseId, c]));
  // MosMed without a lung segmenter: lung recorded as missing, no lung files; the summary says so.
  const mosmed = byId.get('Case-0000')!;
  assert.equal(mosmed.lungMaskSource, 'missing');
  assert.equal(mosmed.lungVoxels, null);
  assert.equal(mosmed.files3d!.lung, undefined);
  assert.ok(mosmed.slices2d.length > 0 && mosmed.slices2d.every((s) => s.lung === undefined));
  assert.ok(summary.warnings.some((w) => /2 3D cases have no lung mask/.test(w)));
  assert.deepEqual(summary.lungMasks, { dataset: 8, model: 0, missing: 2 }, 'medseg9 3 + zenodo 2 + medseg100 3 from the datasets; the 2 MosMed cases missing');
  // 3D files: the requested grid, image in [0, 1], masks as label maps whose counts match the record.
  const medseg = byId.get('Case-0002')!;
  assert.equal(medseg.lungMaskSource, 'dataset');
  const sha = async (path: string) => createHash('sha256').update(await readFile(path)).digest('hex');
  assert.deepEqual(medseg.inputFileSha256, { image: await sha(medseg.inputFiles.image), lesion: await sha(medseg.inputFiles.lesion), lung: await sha(medseg.inputFiles.lung!) });
  const image = await readVolume(join(out, medseg.files3d!.image));
  const lesion = await readVolume(join(out, medseg.files3d!.lesion));
  const lung = await readVolume(join(out, medseg.files3d!.lung!));
  assert.deepEqual(image.dims, DIMS);
  assert.deepEqual(image.spacingMm.map((s) => Number(s.toFixed(6))), [0.9, 0.9, 4.5]);
  assert.ok(image.data.every((v) => v >= 0 && v <= 1));
  assert.ok(lesion.data instanceof Uint8Array);
  assert.equal(countNonzero(lesion.data as Uint8Array), medseg.lesionVoxels);
  assert.equal(countNonzero(lung.data as Uint8Array), medseg.lungVoxels);
  for (let i = 0; i < lesion.data.length; i++) if (lesion.data[i]) assert.equal(lung.data[i], 1, 'lesion ⊂ lung');
  // 2D files: exactly the lesion slices, 0/255 masks.
  const lesionSlices = Array.from({ length: DIMS[2] }, (_, z) => z).filter((z) => lesion.data.subarray(z * 576, (z + 1) * 576).some((v) => v !== 0));
  assert.deepEqual(medseg.slices2d.map((s) => s.z), lesionSlices);
  assert.equal(medseg.slices2d[0]!.image, join('2d', 'images', `Case-0002_z${String(lesionSlices[0]).padStart(3, '0')}.png`));
  const png = decodePng(await readFile(join(out, medseg.slices2d[0]!.lesion)));
  assert.deepEqual([png.width, png.height], [24, 24]);
  assert.deepEqual([...new Set(png.data)].sort((a, b) => a - b), [0, 255]);
  // Zenodo's Radiopaedia scan: 0–255, recorded as not HU, padded with its own minimum.
  const rp = byId.get('Case-0006')!;
  assert.equal(rp.isHu, false);
  assert.equal(rp.normalization.padValue, 0);
  assert.equal(byId.get('Case-0005')!.isHu, true);
  assert.equal(byId.get('Case-0005')!.lungSides, true);
  assert.ok(await exists(join(out, byId.get('Case-0005')!.files3d!.lungSides!)));
  // Slices: own record, squared and resized.
  const slice = byId.get('Slice-00001')!;
  assert.equal(slice.kind, 'slice');
  assert.equal(slice.sliceIndex, 1);
  assert.equal(slice.resizeScale, 1);
  // Splits: every case once, no patient group in two splits.
  const splits = await loadSplits(out);
  assert.deepEqual(Object.keys(splits.caseSplit).sort(), manifest.cases.map((c) => c.caseId).sort());
  const groupSplit = new Map<string, string>();
  for (const c of manifest.cases) {
    const s = splits.caseSplit[c.caseId]!;
    assert.ok(!groupSplit.has(c.patientGroup) || groupSplit.get(c.patientGroup) === s, `${c.patientGroup} spans two splits`);
    groupSplit.set(c.patientGroup, s);
  }
  assert.ok(summary.warnings.some((w) => /^medseg9 \+ zenodo:/.test(w)), 'overlapping sources warned about');
  assert.ok(summary.figures.some((f) => f.endsWith(join('figures', 'overview-3d-01.png'))));
  assert.ok(summary.figures.some((f) => f.endsWith(join('figures', 'overview-2d-medseg100-01.png'))));
  assert.match(formatSummary(summary), /mosmed\s+2\s+2\s+0\s+0/);
  const written = JSON.parse(await readFile(join(out, 'build-summary.json'), 'utf8')) as { totals: unknown };
  assert.deepEqual(written.totals, summary.totals);
});

test('build-db: a rebuild skips unchanged cases (any --source order); a changed input is rebuilt; ids and splits stay', async () => {
  const out = join(root, 'db-rebuild');
  await buildDatabase({ sources, out }, FAST);
  const before = await loadManifest(out);
  const splitsBefore = await loadSplits(out);
  const again = await buildDatabase({ sources: [...sources].reverse(), out }, FAST);
  assert.deepEqual([again.totals.built, again.totals.skipped], [0, 10]);
  const after = await loadManifest(out);
  assert.deepEqual(after.cases, before.cases, 'skipped cases keep their records');
  assert.deepEqual(await loadSplits(out), splitsBefore);
  // A different mask for medseg9 case 2 changes its checksum: only Case-0003 is rebuilt.
  const changedRoot = join(root, 'medseg9-changed');
  await writeMedseg9Layout(changedRoot, [1, 2, 3]);
  const g = MEDSEG9_GEOMETRY([30, 30, 8]);
  const mask = new Uint8Array(30 * 30 * 8);
  mask.fill(1, 30 * 30 * 4, 30 * 30 * 4 + 200);
  await writeNifti(join(changedRoot, 'rp_msk', '2.nii.gz'), mask, 'uint8', g);
  const changed = await buildDatabase({ sources: sources.map((s) => (s.name === 'medseg9' ? { name: 'medseg9', root: changedRoot } : s)), out }, FAST);
  // Checksums are over the bytes: cases 1 and 3 moved folder but are the same files, so only case 2 is rebuilt.
  assert.deepEqual([changed.totals.built, changed.totals.skipped], [1, 9]);
  const cases = new Map((await loadManifest(out)).cases.map((c) => [c.caseId, c]));
  const old = new Map(before.cases.map((c) => [c.caseId, c]));
  assert.notEqual(cases.get('Case-0003')!.inputSha256, old.get('Case-0003')!.inputSha256);
  assert.notEqual(cases.get('Case-0003')!.lesionVoxels, old.get('Case-0003')!.lesionVoxels);
  assert.equal(cases.get('Case-0002')!.inputSha256, old.get('Case-0002')!.inputSha256);
  assert.equal(cases.get('Case-0002')!.inputFiles.image, join(changedRoot, 'rp_im', '1.nii.gz'), 'a skipped case records where its inputs are now');
});

test('build-db resumes: a killed build (no manifest, case in flight lost) and a subset-then-full build redo only what is missing', async () => {
  const out = join(root, 'db-resume');
  const medseg9 = [{ name: 'medseg9' as const, root: join(root, 'medseg9') }];
  await buildDatabase({ sources: medseg9, out }, FAST);
  // Kill simulated: the manifest is written last and Case-0001's record never landed.
  await rm(join(out, 'manifest.json'));
  await rm(join(out, 'cases', 'Case-0001.json'));
  const resumed = await buildDatabase({ sources: medseg9, out }, FAST);
  assert.deepEqual([resumed.totals.built, resumed.totals.skipped], [1, 2]);
  assert.equal((await loadManifest(out)).cases.length, 3);
  // Subset then full: a folder with volumes 1 and 2, later 3 added.
  const growing = join(root, 'medseg9-growing');
  await writeMedseg9Layout(growing, [1, 2]);
  const out2 = join(root, 'db-grow');
  assert.equal((await buildDatabase({ sources: [{ name: 'medseg9', root: growing }], out: out2 }, FAST)).totals.built, 2);
  await writeMedseg9Layout(growing, [3]);
  const full = await buildDatabase({ sources: [{ name: 'medseg9', root: growing }], out: out2 }, FAST);
  assert.deepEqual([full.totals.built, full.totals.skipped], [1, 2]);
  // And back: a case that left the sources is removed with its files.
  await rm(join(growing, 'rp_im', '3.nii.gz'));
  const shrunk = await buildDatabase({ sources: [{ name: 'medseg9', root: growing }], out: out2 }, FAST);
  assert.deepEqual([shrunk.totals.found, shrunk.totals.skipped], [2, 2]);
  assert.equal(await exists(join(out2, 'cases', 'Case-0002.json')), false);
  assert.equal(await exists(join(out2, '3d', 'Case-0002')), false);
});

test('build-db: broken cases fail one by one with the error in the summary; the others are built', async () => {
  const broken = join(root, 'medseg9-broken');
  await writeMedseg9Layout(broken, [1, 2, 3, 4]);
  await rm(join(broken, 'rp_msk', '2.nii.gz'));
  await writeNifti(join(broken, 'rp_lung_msk', '3.nii.gz'), new Uint8Array(30 * 30 * 7), 'uint8', MEDSEG9_GEOMETRY([30, 30, 7]));
  await writeFile(join(broken, 'rp_im', '4.nii.gz'), 'not a NIfTI');
  const out = join(root, 'db-broken');
  const summary = await buildDatabase({ sources: [{ name: 'medseg9', root: broken }], out }, FAST);
  const src = summary.sources[0]!;
  assert.deepEqual([src.found, src.built, src.failed], [4, 1, 3]);
  assert.deepEqual(src.failures.map((f) => [f.caseId, f.originalId]), [['Case-0001', '2'], ['Case-0002', '3'], ['Case-0003', '4']]);
  assert.match(src.failures[0]!.error, /rp_msk\/2\.nii\.gz: missing lesion mask/);
  assert.match(src.failures[1]!.error, /rp_lung_msk\/3\.nii\.gz: mask grid \[30×30×7\] differs from its image's \[30×30×8\]/);
  assert.match(src.failures[2]!.error, /rp_im\/4\.nii\.gz: unsupported or unrecognised image format/);
  assert.deepEqual((await loadManifest(out)).cases.map((c) => c.caseId), ['Case-0000']);
  assert.match(formatSummary(summary), /FAILED Case-0001 \(medseg9 2\): .*missing lesion mask/);
});

test('build-db: two worker threads give the same database as one thread; --figure-case draws Figure 2', async () => {
  const one = join(root, 'db-w0');
  const two = join(root, 'db-w2');
  const zenodo = [{ name: 'zenodo' as const, root: join(root, 'zenodo') }, { name: 'medseg100' as const, root: join(root, 'medseg100') }];
  await buildDatabase({ sources: zenodo, out: one }, { ...FAST, workers: 0, overview: false });
  const summary = await buildDatabase({ sources: zenodo, out: two }, { ...FAST, workers: 2, figureCases: ['Case-0000'] });
  const strip = (cases: Awaited<ReturnType<typeof loadManifest>>['cases']) => cases.map(({ builtAt: _b, buildMs: _m, inputFiles: _f, ...rest }) => rest);
  assert.deepEqual(strip((await loadManifest(two)).cases), strip((await loadManifest(one)).cases));
  assert.deepEqual(await readFile(join(two, '3d', 'Case-0000', 'image.nrrd')), await readFile(join(one, '3d', 'Case-0000', 'image.nrrd')));
  const figure = join(two, 'figures', 'preprocessing-Case-0000.png');
  assert.ok(summary.figures.includes(figure));
  const png = decodePng(await readFile(figure));
  assert.equal(png.channels, 3);
  assert.ok(png.width > 2 * DIMS[0], 'two panels side by side');
  await assert.rejects(buildDatabase({ sources: zenodo, out: two }, { ...FAST, figureCases: ['Case-0099'] }), /--figure-case Case-0099: no such 3D case in this build \(3D cases: Case-0000 … Case-0001\)/);
  await assert.rejects(buildDatabase({ sources: zenodo, out: two }, { ...FAST, figureCases: ['Slice-00000'] }), /--figure-case Slice-00000: no such 3D case/);
});

test('build-db: a lung segmenter fills in missing lung masks, recorded as model:<name>; switching it rebuilds those cases', async () => {
  // A real (if crude) segmenter: air-like voxels inside the body, split at the grid's middle column.
  const threshold = (name: string): LungSegmenter => ({
    name,
    async segment(ct: Volume): Promise<LabelMap> {
      const [nx] = ct.dims;
      const out = new Uint8Array(ct.data.length);
      for (let i = 0; i < out.length; i++) if (ct.data[i]! > -950 && ct.data[i]! < -400) out[i] = i % nx < nx / 2 ? 2 : 1;
      return createVolume(out, ct.dims, ct);
    },
  });
  const out = join(root, 'db-lungs');
  const mosmed = [{ name: 'mosmed' as const, root: join(root, 'mosmed') }];
  const s1 = await buildDatabase({ sources: mosmed, out }, { ...FAST, lungSegmenter: threshold('threshold-a') });
  assert.deepEqual(s1.lungMasks, { dataset: 0, model: 2, missing: 0 });
  const record = (await loadManifest(out)).cases[0]!;
  assert.equal(record.lungMaskSource, 'model:threshold-a');
  assert.ok(record.lungVoxels! > record.lesionVoxels && record.files3d!.lung !== undefined);
  assert.ok(record.slices2d.every((s) => s.lung !== undefined));
  assert.equal((await buildDatabase({ sources: mosmed, out }, { ...FAST, lungSegmenter: threshold('threshold-a') })).totals.skipped, 2);
  assert.equal((await buildDatabase({ sources: mosmed, out }, { ...FAST, lungSegmenter: threshold('threshold-b') })).totals.built, 2);
  // Slice sources published without lung masks get them too (COVID-SemiSeg's case).
  await writeMedseg100Layout(join(root, 'medseg100-nolung'), { size: 24, slices: 3, lungMasks: false });
  const slicesOut = join(root, 'db-slice-lungs');
  const s2 = await buildDatabase({ sources: [{ name: 'medseg100', root: join(root, 'medseg100-nolung') }], out: slicesOut }, { ...FAST, lungSegmenter: threshold('threshold-a') });
  assert.equal(s2.lungMasks.missing, 0);
  const sliceRecords = (await loadManifest(slicesOut)).cases;
  assert.ok(sliceRecords.length > 0 && sliceRecords.every((r) => r.lungMaskSource === 'model:threshold-a' && r.slices2d.every((sl) => sl.lung !== undefined)));
  const bad: LungSegmenter = { name: 'wrong-grid', segment: async () => createVolume(new Uint8Array(8), [2, 2, 2]) };
  const failed = await buildDatabase({ sources: mosmed, out }, { ...FAST, lungSegmenter: bad });
  assert.match(failed.sources[0]!.failures[0]!.error, /lung segmenter 'wrong-grid' returned a 2×2×2 mask for a 32×32×6 CT; it must answer on the CT's grid/);
});

test('build-db request errors', async () => {
  const out = join(root, 'db-errors');
  await assert.rejects(buildDatabase({ sources: [], out }), /no sources; give at least one of mosmed, medseg100, medseg9, zenodo, zenodo-slices, zenodo-slice-stacks, semiseg/);
  await assert.rejects(buildDatabase({ sources: [sources[0]!, sources[0]!], out }), /source 'zenodo' given twice/);
  await assert.rejects(buildDatabase({ sources: [{ name: 'kaggle' as never, root }], out }), /unknown source 'kaggle'/);
  await assert.rejects(buildDatabase({ sources: [{ name: 'medseg9', root: join(root, 'missing') }], out }), /missing: not a folder; --source medseg9=PATH/);
});

test('loadManifest names a missing or mistyped key', async () => {
  const out = join(root, 'db-manifest');
  await buildDatabase({ sources: [{ name: 'medseg100', root: join(root, 'medseg100') }], out }, { ...FAST, overview: false });
  const file = join(out, 'manifest.json');
  const json = JSON.parse(await readFile(file, 'utf8')) as { cases: Record<string, unknown>[]; options: Record<string, unknown> };
  delete json.cases[1]!['caseId'];
  await writeFile(file, JSON.stringify(json));
  await assert.rejects(loadManifest(out), /manifest\.json: missing key 'cases\[1\]\.caseId' \(string\); rebuild the database with 'covseg build-db'/);
  json.cases[1]!['caseId'] = 'Slice-00001';
  json.options['seed'] = 'forty-two';
  await writeFile(file, JSON.stringify(json));
  await assert.rejects(loadManifest(file), /key 'options\.seed' should be number, got string/);
  await assert.rejects(loadManifest(join(root, 'no-db')), /no-db\/manifest\.json: cannot read the database manifest: ENOENT/);
});

test('build-db --workers is bounded by the cores and the jobs, with a warning', async () => {
  assert.deepEqual(boundWorkers(0, 10, 2), { workers: 0 });
  assert.deepEqual(boundWorkers(2, 10, 2), { workers: 2 });
  assert.deepEqual(boundWorkers(1000, 10, 2), { workers: 2, warning: '--workers 1000 lowered to 2: this machine has 2 cores (more threads than cores or jobs only cost memory)' });
  assert.deepEqual(boundWorkers(8, 3, 16), { workers: 3, warning: '--workers 8 lowered to 3: there are 3 jobs to run (more threads than cores or jobs only cost memory)' });
  assert.equal(boundWorkers(4, 0, 16).workers, 1, 'one worker left to draw the pages when every case is skipped');
  const told: string[] = [];
  const summary = await buildDatabase({ sources: [{ name: 'medseg9', root: join(root, 'medseg9') }], out: join(root, 'db-workers') }, { ...FAST, overview: false, workers: 40, onWarning: (m) => told.push(m) });
  const expected = Math.min(3, availableParallelism());
  assert.equal(summary.workers, expected, 'three cases: never more than three threads, nor more than the cores');
  assert.equal(summary.totals.built, 3);
  assert.equal(told.length, 1);
  assert.match(told[0]!, new RegExp(`^--workers 40 lowered to ${expected}: `));
  assert.ok(summary.warnings.includes(told[0]!), 'the warning is in the summary too');
});

test('build-db: a rebuild checks every output against the size and sha256 in its record; a damaged case is rebuilt whole', async () => {
  const out = join(root, 'db-verify');
  const medseg9 = [{ name: 'medseg9' as const, root: join(root, 'medseg9') }];
  await buildDatabase({ sources: medseg9, out }, { ...FAST, overview: false });
  const before = new Map((await loadManifest(out)).cases.map((c) => [c.caseId, c]));
  const sha = async (path: string) => createHash('sha256').update(await readFile(path)).digest('hex');
  for (const c of before.values()) {
    const files = [...Object.values(c.files3d!), ...c.slices2d.flatMap((s) => [s.image, s.lesion, ...(s.lung ? [s.lung] : [])])];
    assert.deepEqual(Object.keys(c.outputs!).sort(), files.sort(), `${c.caseId}: every output has its digest`);
    for (const f of files) assert.deepEqual(c.outputs![f], { bytes: (await readFile(join(out, f))).length, sha256: await sha(join(out, f)) });
  }
  // A truncated volume (as a killed copy or a full disk leaves it) and a slice with one byte changed (same size).
  const image = join(out, before.get('Case-0000')!.files3d!.image);
  const whole = await readFile(image);
  await writeFile(image, whole.subarray(0, whole.length >> 1));
  const png = join(out, before.get('Case-0001')!.slices2d[0]!.image);
  const pngBytes = await readFile(png);
  pngBytes[pngBytes.length - 20] ^= 0xff;
  await writeFile(png, pngBytes);
  const told: string[] = [];
  const again = await buildDatabase({ sources: medseg9, out }, { ...FAST, overview: false, onWarning: (m) => told.push(m) });
  assert.deepEqual([again.totals.built, again.totals.skipped, again.totals.failed], [2, 1, 0]);
  assert.deepEqual(told, [
    `Case-0000: ${join('3d', 'Case-0000', 'image.nrrd')} has ${whole.length >> 1} bytes, the case record says ${whole.length}; the case is rebuilt`,
    `Case-0001: ${before.get('Case-0001')!.slices2d[0]!.image} differs from its sha256 in the case record; the case is rebuilt`,
  ]);
  assert.deepEqual(await readFile(image), whole, 'the volume is whole again');
  assert.equal((await readVolume(image)).dims.join('×'), DIMS.join('×'));
  assert.notDeepEqual(await readFile(png), pngBytes);
  const after = new Map((await loadManifest(out)).cases.map((c) => [c.caseId, c]));
  assert.deepEqual(after.get('Case-0000')!.outputs, before.get('Case-0000')!.outputs);
  // A record of an older build (no digests) cannot vouch for its files: the case is rebuilt once.
  const recordFile = join(out, 'cases', 'Case-0002.json');
  const record = JSON.parse(await readFile(recordFile, 'utf8')) as Record<string, unknown>;
  delete record['outputs'];
  await writeFile(recordFile, JSON.stringify(record));
  const third = await buildDatabase({ sources: medseg9, out }, { ...FAST, overview: false });
  assert.deepEqual([third.totals.built, third.totals.skipped], [1, 2]);
  assert.ok(third.warnings.includes('1 case rebuilt: its record (from an older build) holds no output checksums to check the files against'));
  assert.equal((await buildDatabase({ sources: medseg9, out }, { ...FAST, overview: false })).totals.skipped, 3, 'then all is skipped');
});

test('build-db removes the temporaries a killed build left, and refuses a folder another live build holds', async () => {
  const out = join(root, 'db-leftovers');
  const medseg9 = [{ name: 'medseg9' as const, root: join(root, 'medseg9') }];
  await buildDatabase({ sources: medseg9, out }, { ...FAST, overview: false });
  // A PID that is surely gone: a child that has exited.
  const dead = spawnSync(process.execPath, ['-e', '0']).pid!;
  const leftovers = [
    join('cases', `Case-0000.json.tmp-${dead}-0123abcd`),
    join('3d', 'Case-0001', `image.nrrd.tmp-${process.pid}-89abcdef.nrrd`),
    `manifest.json.tmp-${dead}-deadbeef`,
  ];
  const alive = join('2d', 'images', `x.png.tmp-${process.ppid}-00ff00ff`);
  for (const f of [...leftovers, alive]) await writeFile(join(out, f), 'half a file');
  await writeFile(join(out, 'cases', 'notes.tmp'), 'not a temporary of ours');
  const again = await buildDatabase({ sources: medseg9, out }, { ...FAST, overview: false });
  assert.deepEqual([again.totals.built, again.totals.skipped], [0, 3]);
  for (const f of leftovers) assert.equal(await exists(join(out, f)), false, `${f} removed`);
  assert.ok(await exists(join(out, alive)), 'a live writer\'s temporary is left alone');
  assert.ok(await exists(join(out, 'cases', 'notes.tmp')));
  assert.ok(again.warnings.includes(`removed 3 temporary files left by an interrupted build (${[...leftovers].sort().join(', ')})`));
  assert.equal(await exists(join(out, '.build-lock')), false, 'the lock goes with the build');
  // A lock held by a live process (here the test runner) refuses the build; a dead one's is taken over.
  await writeFile(join(out, '.build-lock'), `${process.ppid}\n`);
  await assert.rejects(buildDatabase({ sources: medseg9, out }, FAST), new RegExp(`^CovsegError: ${out}: another build-db \\(PID ${process.ppid}\\) is writing this database; wait for it to finish, or remove ${join(out, '.build-lock')} if no build is running$`));
  await writeFile(join(out, '.build-lock'), `${dead}\n`);
  assert.equal((await buildDatabase({ sources: medseg9, out }, { ...FAST, overview: false })).totals.skipped, 3);
  // A build of this very process holds it (same PID in the lock file): refused too, until released.
  const release = await lockDatabase(out);
  await assert.rejects(buildDatabase({ sources: medseg9, out }, FAST), new RegExp(`another build-db \\(PID ${process.pid}\\) is writing this database`));
  await assert.rejects(lockDatabase(out), /another build-db/);
  await release();
  assert.equal((await buildDatabase({ sources: medseg9, out }, { ...FAST, overview: false })).totals.skipped, 3);
});
