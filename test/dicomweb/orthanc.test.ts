/**
 * `covseg segment --dicomweb` against a real Orthanc: a CT series made from the real chest
 * slice is uploaded, segmented from the PACS, and the DICOM SEG and SR read back from it
 * (QIDO-RS for their series, WADO-RS for their instances) and checked against the local
 * copies and report.json. Then the refusals: server down, 401, unknown study, a study with no CT series.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readDicomHeader, readDicomSeg, readVolume } from '../../src/io/index.js';
import { DicomWebClient } from '../../src/dicomweb/index.js';
import { DEFAULT_LESION_MODEL_PATH } from '../../src/segment/index.js';
import { DEFAULT_LUNG_MODEL_PATH } from '../../src/lungs/default-model.js';
import type { WrittenSeries } from '../helpers/synthetic-dicom.js';
import { freePort, orthancMissing, startOrthanc, uploadChestStudies, type Orthanc } from '../helpers/orthanc.js';
import { runCovseg } from '../helpers/run-cli.js';
import { PROJECT_ROOT } from '../helpers/shared-data.js';
import { many, readSr, srGroups } from '../helpers/dicom-sr-read.js';
import { DCIODVFY_MISSING, dciodvfy } from '../helpers/dciodvfy.js';
import { arrayBufferOf, dcmjsData } from '../../src/io/dcmjs.js';

const skip = orthancMissing() || (!(existsSync(DEFAULT_LUNG_MODEL_PATH) && existsSync(DEFAULT_LESION_MODEL_PATH)) && 'shipped models missing in models/');

let dir = '';
let pacs: Orthanc;
let ct: WrittenSeries;
let mr: WrittenSeries;

before(async () => {
  if (skip) return;
  dir = mkdtempSync(join(tmpdir(), 'covseg-test-orthanc-'));
  pacs = await startOrthanc();
  ({ ct, mr } = await uploadChestStudies(pacs, dir));
});
after(async () => {
  if (skip) return;
  await pacs?.stop();
  rmSync(dir, { recursive: true, force: true });
});

const auth = () => ({ COVSEG_DICOMWEB_PASSWORD: pacs.password });
const login = () => ['--dicomweb-user', pacs.user];

test('segment --dicomweb: the CT series from Orthanc, the DICOM SEG and SR stored back and read back equal to the local copies and report.json', { skip }, async () => {
  const out = join(dir, 'out');
  const r = runCovseg(['segment', '--dicomweb', pacs.dicomweb, '--study', ct.studyInstanceUid, ...login(), '--out', out], auth());
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, new RegExp(`series ${ct.seriesInstanceUid.replace(/\./g, '\\.')}: 3 instances read from`));
  assert.match(r.stdout, /stored in http:\/\/127\.0\.0\.1:\d+\/dicom-web: segmentation\.dcm, report-sr\.dcm$/m);

  // QIDO-RS: the study now holds the CT, one SEG and one SR series.
  const series = await pacs.seriesOf(ct.studyInstanceUid);
  assert.deepEqual(series.map((s) => s.modality).sort(), ['CT', 'SEG', 'SR']);
  // WADO-RS: each stored instance, byte for byte its local copy.
  const client = new DicomWebClient(pacs.dicomweb, { auth: { user: pacs.user, password: pacs.password } });
  const fromPacs = async (modality: string, local: string): Promise<string> => {
    const parts: Uint8Array[] = [];
    await client.retrieveSeries(ct.studyInstanceUid, series.find((s) => s.modality === modality)!.uid, { maxParts: 10, maxPartBytes: 64 << 20, maxTotalBytes: 64 << 20 }, async (b) => void parts.push(b));
    assert.equal(parts.length, 1, modality);
    assert.ok(Buffer.from(parts[0]!).equals(readFileSync(join(out, local))), `the PACS gives back the ${modality} as stored`);
    const back = join(dir, `from-pacs-${local}`);
    writeFileSync(back, parts[0]!);
    const h = await readDicomHeader(back);
    assert.equal(h.modality, modality);
    assert.equal(h.studyInstanceUid, ct.studyInstanceUid, `the ${modality} is in the source study`);
    return back;
  };
  const segFile = await fromPacs('SEG', 'segmentation.dcm');
  const srFile = await fromPacs('SR', 'report-sr.dcm');
  assert.equal((await readDicomHeader(segFile)).frameOfReferenceUid, ct.frameOfReferenceUid, 'on the source frame of reference');

  // The SEG's segments are the local masks, and their voxel counts the report's numbers.
  const lungs = await readVolume(join(out, 'lungs.nii.gz'));
  const seg = await readDicomSeg(segFile, { grid: lungs });
  const labels = seg.segments.map((s) => (s as { SegmentLabel: string }).SegmentLabel);
  const report = JSON.parse(readFileSync(join(out, 'report.json'), 'utf8')) as {
    lungs: Record<'right' | 'left' | 'total', { voxels: number; volumeMl: number }>;
    lesions: Record<'right' | 'left' | 'total', { voxels: number; volumeMl: number; percentOfLung: number }>;
  };
  const sum = (m: { data: ArrayLike<number> }) => {
    let n = 0;
    for (let i = 0; i < m.data.length; i++) n += m.data[i]!;
    return n;
  };
  const counts = Object.fromEntries(labels.map((l, k) => [l, sum(seg.masks[k]!)]));
  assert.equal(counts['Right lung'], report.lungs.right.voxels);
  assert.equal(counts['Left lung'], report.lungs.left.voxels);
  if (report.lesions.total.voxels > 0) assert.equal(Object.entries(counts).find(([l]) => /lesion/i.test(l))![1], report.lesions.total.voxels);
  assert.ok(report.lungs.right.voxels > 0 && report.lungs.left.voxels > 0, 'the real slice has both lungs');

  // The SEG references the CT instances it was made from.
  const ds = dcmjsData.DicomMetaDictionary.naturalizeDataset(dcmjsData.DicomMessage.readFile(arrayBufferOf(readFileSync(segFile))).dict);
  const ref = many(ds['ReferencedSeriesSequence'] as { SeriesInstanceUID: string; ReferencedInstanceSequence: { ReferencedSOPInstanceUID: string } | { ReferencedSOPInstanceUID: string }[] })[0]!;
  assert.equal(ref.SeriesInstanceUID, ct.seriesInstanceUid);
  assert.deepEqual(many(ref.ReferencedInstanceSequence).map((i) => i.ReferencedSOPInstanceUID).sort(), [...ct.sopInstanceUids].sort());

  // The SR, as the PACS gives it back: report.json's numbers, each group on its segment of the stored SEG.
  const groups = srGroups(readSr(srFile));
  const segUid = (await readDicomHeader(segFile)).sopInstanceUid;
  assert.equal(groups['right lung']!.nums['Volume']!.value, report.lungs.right.volumeMl);
  assert.equal(groups['left lung']!.nums['Volume']!.value, report.lungs.left.volumeMl);
  assert.equal(groups['both lungs']!.nums['Volume']!.value, report.lungs.total.volumeMl);
  assert.equal(groups['lesions in both lungs']!.nums['Percent of lung affected']!.value, report.lesions.total.percentOfLung);
  assert.deepEqual(groups['right lung']!.segment, { sopInstanceUid: segUid, segmentNumber: 1 });
  assert.deepEqual(groups['left lung']!.segment, { sopInstanceUid: segUid, segmentNumber: 2 });
  // What the PACS holds is valid DICOM (dicom3tools' dciodvfy: no errors).
  if (!DCIODVFY_MISSING) for (const f of [segFile, srFile]) assert.deepEqual(dciodvfy(f).errors, [], f);
});

test('segment --dicomweb without --out keeps nothing locally and still stores the SEG', { skip }, async () => {
  const before = (await pacs.seriesOf(ct.studyInstanceUid)).filter((s) => s.modality === 'SEG').length;
  const r = runCovseg(['segment', '--dicomweb', pacs.dicomweb, '--study', ct.studyInstanceUid, '--series', ct.seriesInstanceUid, ...login()], auth());
  assert.equal(r.status, 0, r.stderr);
  assert.doesNotMatch(r.stdout, /report: /);
  assert.deepEqual(readdirSync(tmpdir()).filter((f) => f.startsWith('covseg-dicomweb-')), [], 'no working folders left behind');
  assert.equal((await pacs.seriesOf(ct.studyInstanceUid)).filter((s) => s.modality === 'SEG').length, before + 1);
});

test('segment --dicomweb refusals: server down, 401, unknown study, no CT series; each one line, nothing stored', { skip }, async () => {
  const stored = await pacs.instanceCount();
  const down = `http://127.0.0.1:${await freePort()}/dicom-web`;
  const cases: { args: string[]; env?: Record<string, string>; error: RegExp }[] = [
    { args: ['--dicomweb', down, '--study', ct.studyInstanceUid], error: /^covseg segment: error: cannot reach DICOMweb server http:\/\/127\.0\.0\.1:\d+\/dicom-web: connection refused/m },
    { args: ['--dicomweb', pacs.dicomweb, '--study', ct.studyInstanceUid], error: /answered 401 Unauthorized while searching studies: it needs credentials; give --dicomweb-user with COVSEG_DICOMWEB_PASSWORD/ },
    { args: ['--dicomweb', pacs.dicomweb, '--study', ct.studyInstanceUid, ...login()], env: { COVSEG_DICOMWEB_PASSWORD: 'wrong' }, error: /answered 401 Unauthorized while searching studies: the credentials were refused/ },
    { args: ['--dicomweb', pacs.dicomweb, '--study', '1.2.3.4.5', ...login()], env: auth(), error: /no study 1\.2\.3\.4\.5 on DICOMweb server http/ },
    { args: ['--dicomweb', pacs.dicomweb, '--study', mr.studyInstanceUid, ...login()], env: auth(), error: new RegExp(`study ${mr.studyInstanceUid.replace(/\./g, '\\.')} on http://127\\.0\\.0\\.1:\\d+/dicom-web has no CT series; it holds MR 'synthetic chest' \\(3 instances\\)$`, 'm') },
    { args: ['--dicomweb', pacs.dicomweb, '--study', ct.studyInstanceUid, '--series', '9.9.9', ...login()], env: auth(), error: /has no series 9\.9\.9; it holds .*CT 'synthetic chest' \(3 instances\)/ },
    { args: ['--dicomweb', pacs.dicomweb, '--study', ct.studyInstanceUid, '--dicomweb-out', down, ...login()], env: auth(), error: /cannot reach DICOMweb server http:\/\/127\.0\.0\.1:\d+\/dicom-web: connection refused/ },
  ];
  for (const c of cases) {
    const r = runCovseg(['segment', ...c.args], c.env ?? {});
    assert.equal(r.status, 1, `${c.args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, c.error);
    assert.equal(r.stderr.trim().split('\n').length, 1, `one line: ${r.stderr}`);
  }
  assert.equal(await pacs.instanceCount(), stored, 'nothing was stored');
  const usage = runCovseg(['segment', '--dicomweb', pacs.dicomweb]);
  assert.equal(usage.status, 2);
  assert.match(usage.stderr, /--dicomweb needs --study/);
});

test('segment --dicomweb of a series without the UIDs a SEG needs: segmented, kept in --out, nothing stored, the reason said', { skip }, async () => {
  // The bundled real slice is anonymised without Modality and FrameOfReferenceUID.
  const real = readFileSync(join(PROJECT_ROOT, 'examples/chest-ct-dicom-slice/chest-ct.dcm'));
  await pacs.upload(real);
  const study = '1.2.826.0.1.3680043.8.498.99442832844785701617685555618610994967';
  const series = '1.2.826.0.1.3680043.8.498.22032370629701851459946006816247576553';
  const stored = await pacs.instanceCount();
  const noCt = runCovseg(['segment', '--dicomweb', pacs.dicomweb, '--study', study, ...login()], auth());
  assert.equal(noCt.status, 1);
  assert.match(noCt.stderr, /has no CT series; it holds \(no modality\) \(1 instance\)/);
  const out = join(dir, 'no-uids');
  const r = runCovseg(['segment', '--dicomweb', pacs.dicomweb, '--study', study, '--series', series, ...login(), '--out', out], auth());
  assert.equal(r.status, 1, r.stdout);
  assert.match(r.stderr, /^covseg segment: error: nothing to store in http:\/\/127\.0\.0\.1:\d+\/dicom-web: DICOM SEG not written: the source DICOM lacks FrameOfReferenceUID/);
  assert.ok(existsSync(join(out, 'report.json')), 'the local copies are kept');
  assert.equal(await pacs.instanceCount(), stored, 'nothing was stored');
});
