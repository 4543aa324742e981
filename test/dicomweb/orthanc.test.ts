/**
 * `covseg segment --dicomweb` against a real Orthanc: a CT series made from the real chest
 * slice is uploaded, segmented from the PACS, and the DICOM SEG read back from it (QIDO-RS
 * for the SEG series, WADO-RS for its instance) and checked against the local copies and
 * report.json. Then the refusals: server down, 401, unknown study, a study with no CT series.
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

test('segment --dicomweb: the CT series from Orthanc, the DICOM SEG stored back and read back equal to the local copy and report.json', { skip }, async () => {
  const out = join(dir, 'out');
  const r = runCovseg(['segment', '--dicomweb', pacs.dicomweb, '--study', ct.studyInstanceUid, ...login(), '--out', out], auth());
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, new RegExp(`series ${ct.seriesInstanceUid.replace(/\./g, '\\.')}: 3 instances read from`));
  assert.match(r.stdout, /stored in http:\/\/127\.0\.0\.1:\d+\/dicom-web: segmentation\.dcm/);

  // QIDO-RS: the study now holds the CT and one SEG series.
  const series = await pacs.seriesOf(ct.studyInstanceUid);
  assert.deepEqual(series.map((s) => s.modality).sort(), ['CT', 'SEG']);
  const segSeries = series.find((s) => s.modality === 'SEG')!;
  // WADO-RS: the stored SEG, byte for byte the local copy.
  const client = new DicomWebClient(pacs.dicomweb, { auth: { user: pacs.user, password: pacs.password } });
  const parts: Uint8Array[] = [];
  await client.retrieveSeries(ct.studyInstanceUid, segSeries.uid, { maxParts: 10, maxPartBytes: 64 << 20, maxTotalBytes: 64 << 20 }, async (b) => void parts.push(b));
  assert.equal(parts.length, 1);
  const local = readFileSync(join(out, 'segmentation.dcm'));
  const back = join(dir, 'seg-from-pacs.dcm');
  writeFileSync(back, parts[0]!);
  const h = await readDicomHeader(back);
  assert.equal(h.sopInstanceUid, (await readDicomHeader(join(out, 'segmentation.dcm'))).sopInstanceUid);
  assert.equal(h.modality, 'SEG');
  assert.equal(h.studyInstanceUid, ct.studyInstanceUid, 'in the source study');
  assert.equal(h.frameOfReferenceUid, ct.frameOfReferenceUid, 'on the source frame of reference');
  assert.ok(Buffer.from(parts[0]!).equals(local), 'the PACS gives back the SEG as stored');

  // Its segments are the local masks, and their voxel counts the report's numbers.
  const lungs = await readVolume(join(out, 'lungs.nii.gz'));
  const seg = await readDicomSeg(back, { grid: lungs });
  const labels = seg.segments.map((s) => (s as { SegmentLabel: string }).SegmentLabel);
  const report = JSON.parse(readFileSync(join(out, 'report.json'), 'utf8')) as { lungs: { right: { voxels: number }; left: { voxels: number } }; lesions: { total: { voxels: number } } };
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

  // It references the CT instances it was made from.
  const dcmjsName = 'dcmjs';
  const dcmjs = (await import(dcmjsName)) as { default: { data: { DicomMessage: { readFile(b: ArrayBuffer): { dict: unknown } }; DicomMetaDictionary: { naturalizeDataset(d: unknown): Record<string, unknown> } } } };
  const { data } = dcmjs.default;
  const ds = data.DicomMetaDictionary.naturalizeDataset(data.DicomMessage.readFile(local.buffer.slice(local.byteOffset, local.byteOffset + local.length)).dict);
  const refSeries = ds['ReferencedSeriesSequence'] as { SeriesInstanceUID: string; ReferencedInstanceSequence: { ReferencedSOPInstanceUID: string }[] | { ReferencedSOPInstanceUID: string } };
  const ref = Array.isArray(refSeries) ? refSeries[0] : refSeries;
  assert.equal(ref.SeriesInstanceUID, ct.seriesInstanceUid);
  const refs = [ref.ReferencedInstanceSequence].flat().map((i) => i.ReferencedSOPInstanceUID).sort();
  assert.deepEqual(refs, [...ct.sopInstanceUids].sort());
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
