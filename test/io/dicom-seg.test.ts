import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, existsSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { dicomSegReferenceProblem, readDicomHeader, readDicomSeg, readImage, writeDicomSeg, type SegLayer } from '../../src/io/index.js';
import { createVolume, type LabelMap } from '../../src/volume/volume.js';
import { writeSyntheticCtSeries, type WrittenSeries } from '../helpers/synthetic-dicom.js';
import { PROJECT_ROOT } from '../helpers/shared-data.js';
import { DCIODVFY_MISSING, dciodvfy } from '../helpers/dciodvfy.js';

const SEGMENTATION_STORAGE = '1.2.840.10008.5.1.4.1.1.66.4';
const sct = (value: string, meaning: string) => ({ value, scheme: 'SCT', meaning });

let dir = '';
let series: WrittenSeries;
const dims: [number, number, number] = [40, 32, 5];
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'covseg-dicom-seg-'));
  const hu = Float32Array.from({ length: dims[0] * dims[1] * dims[2] }, (_, i) => ((i * 37) % 1500) - 1000);
  series = writeSyntheticCtSeries(join(dir, 'ct'), { dims, spacingMm: [0.7, 0.7, 2.5], origin: [-14, -11, -40], hu });
});
after(() => rmSync(dir, { recursive: true, force: true }));

/** Two overlapping layers: a two-label map and a mask inside its label 2, on the series' grid. */
async function layers(): Promise<{ grid: LabelMap; a: Uint8Array; b: Uint8Array; segs: SegLayer[] }> {
  const { volume: ct } = await readImage(join(dir, 'ct'));
  const a = new Uint8Array(ct.data.length);
  const b = new Uint8Array(ct.data.length);
  const [nx, ny] = ct.dims;
  for (let z = 1; z < 4; z++) for (let y = 5; y < 25; y++) for (let x = 3; x < 37; x++) {
    const i = z * nx * ny + y * nx + x;
    a[i] = x < 20 ? 1 : 2;
    // Asymmetric in x, y and z, so a flip or a slice shift would show.
    if (x >= 24 && x < 30 && y < 12 && z >= 2) b[i] = 1;
  }
  const grid = createVolume(a, ct.dims, ct) as LabelMap;
  const segs: SegLayer[] = [
    { labels: grid, segments: [
      { labelId: 1, label: 'Right lung', description: 'Right lung', category: sct('123037004', 'Anatomical Structure'), type: sct('3341006', 'Right lung'), rgb: [230, 40, 40], algorithmName: 'test lungs' },
      { labelId: 2, label: 'Left lung', description: 'Left lung', category: sct('123037004', 'Anatomical Structure'), type: sct('44029006', 'Left lung'), rgb: [40, 200, 60], algorithmName: 'test lungs' },
    ] },
    { labels: createVolume(b, ct.dims, ct) as LabelMap, segments: [
      { labelId: 1, label: 'Lesion', description: 'GGO', category: sct('49755003', 'Morphologically Altered Structure'), type: sct('52988006', 'Lesion'), anatomicRegion: sct('39607008', 'Lung'), rgb: [255, 170, 0], algorithmName: 'test lesions' },
    ] },
  ];
  return { grid, a, b, segs };
}

test('a DICOM SEG round-trips overlapping segments voxel for voxel and references its source series', async () => {
  const { grid, a, b, segs } = await layers();
  const out = join(dir, 'seg.dcm');
  const written = await writeDicomSeg(out, { sourceFiles: series.files, layers: segs, seriesDescription: 'test segmentation' });
  assert.deepEqual(written.segments.map((s) => [s.segmentNumber, s.layer, s.segment.label]), [[1, 0, 'Right lung'], [2, 0, 'Left lung'], [3, 1, 'Lesion']]);
  const seg = await readDicomSeg(out, { grid });
  assert.equal(seg.masks.length, 3);
  assert.deepEqual((await readDicomSeg(out)).masks[0]!.dims, [40, 32, 3], 'on its own, a SEG holds only the slices it touches');
  const expected = [Uint8Array.from(a, (v) => +(v === 1)), Uint8Array.from(a, (v) => +(v === 2)), b];
  for (const [k, m] of seg.masks.entries()) {
    assert.deepEqual(m.dims, grid.dims);
    assert.deepEqual(m.origin.map((x) => +x.toFixed(4)), grid.origin.map((x) => +x.toFixed(4)));
    assert.deepEqual(m.spacingMm.map((x) => +x.toFixed(4)), grid.spacingMm.map((x) => +x.toFixed(4)));
    assert.ok(Buffer.from(m.data).equals(Buffer.from(expected[k]!)), `segment ${k + 1} differs`);
  }
  const labels = seg.segments.map((s) => (s as { SegmentLabel: string }).SegmentLabel);
  assert.deepEqual(labels, ['Right lung', 'Left lung', 'Lesion']);
  assert.equal((seg.segments[2] as { SegmentedPropertyTypeCodeSequence: { CodeValue: string } }).SegmentedPropertyTypeCodeSequence.CodeValue, '52988006');
  const h = await readDicomHeader(out);
  assert.equal(h.sopClassUid, SEGMENTATION_STORAGE);
  assert.equal(h.modality, 'SEG');
  assert.equal(h.studyInstanceUid, series.studyInstanceUid, 'same study as the CT');
  assert.equal(h.frameOfReferenceUid, series.frameOfReferenceUid, 'same frame of reference as the CT');
  assert.notEqual(h.seriesInstanceUid, series.seriesInstanceUid, 'a series of its own');
  assert.deepEqual([written.sopInstanceUid, written.seriesInstanceUid, written.sopClassUid], [h.sopInstanceUid, h.seriesInstanceUid, SEGMENTATION_STORAGE]);
});

test('dciodvfy finds no error in a DICOM SEG (no clinical-trial placeholders of dcmqi, covseg\'s content label)', { skip: DCIODVFY_MISSING }, async () => {
  const { segs } = await layers();
  const out = join(dir, 'checked.dcm');
  await writeDicomSeg(out, { sourceFiles: series.files, layers: segs, seriesDescription: 'checked segmentation' });
  const v = dciodvfy(out);
  assert.deepEqual(v.errors, [], v.output);
  const bytes = readFileSync(out).toString('latin1');
  // (0012,0071) ClinicalTrialSeriesID 'Session1' and (0012,0050) time point '1' were dcmqi's defaults: a Clinical Trial Series module without its coordinating center.
  assert.ok(!bytes.includes('Session1'), 'no ClinicalTrialSeriesID placeholder');
  assert.ok(bytes.includes('COVSEG') && !bytes.includes('DCMQI '), 'the content label is covseg\'s');
});

test('DICOM SEG: empty segments are left out; all empty, or a source without UIDs, is a clear error', async () => {
  const { segs } = await layers();
  const noLesion = [segs[0]!, { ...segs[1]!, labels: { ...segs[1]!.labels, data: new Uint8Array(segs[1]!.labels.data.length) } }];
  const out = join(dir, 'no-lesion.dcm');
  await writeDicomSeg(out, { sourceFiles: series.files, layers: noLesion, seriesDescription: 'no lesion' });
  assert.equal((await readDicomSeg(out)).masks.length, 2);

  const empty = segs.map((l) => ({ ...l, labels: { ...l.labels, data: new Uint8Array(l.labels.data.length) } }));
  await assert.rejects(writeDicomSeg(join(dir, 'empty.dcm'), { sourceFiles: series.files, layers: empty, seriesDescription: 'x' }), /empty\.dcm: cannot write a DICOM SEG: every segment is empty/);

  // The bundled real slice is anonymised without a FrameOfReferenceUID.
  const real = resolve(PROJECT_ROOT, 'examples/chest-ct-dicom-slice/chest-ct.dcm');
  assert.match((await dicomSegReferenceProblem([real]))!, /lacks FrameOfReferenceUID/);
  await assert.rejects(writeDicomSeg(join(dir, 'orphan.dcm'), { sourceFiles: [real], layers: segs, seriesDescription: 'x' }), /orphan\.dcm: cannot write a DICOM SEG: the source DICOM lacks FrameOfReferenceUID/);
  assert.ok(!existsSync(join(dir, 'orphan.dcm')));
  assert.deepEqual(readdirSync(tmpdir()).filter((f) => f.startsWith('covseg-seg-')), [], 'no working folders left behind');
});
