import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createVolume } from '../../src/volume/volume.js';
import { gradeSeverity, lungAndLesionNumbers, renderReportHtml, severityFromPercent, severityHeadline, type SegmentReport } from '../../src/segment/index.js';
import type { LungQuality } from '../../src/lungs/quality.js';

const COMPLETE: LungQuality = { assessable: true, lungCoverage: 'complete', warnings: [] };

test('severity categories follow the MosMedData CT-0…CT-4 scale', () => {
  const table: [number, string][] = [[0, 'CT-0'], [0.09, 'CT-0'], [0.1, 'CT-1'], [24.99, 'CT-1'], [25, 'CT-2'], [49.9, 'CT-2'], [50, 'CT-3'], [74.9, 'CT-3'], [75, 'CT-4'], [100, 'CT-4']];
  for (const [pct, cat] of table) assert.equal(severityFromPercent(pct).category, cat, `${pct}%`);
  assert.throws(() => severityFromPercent(101), /percentAffected must be in \[0, 100\], got 101/);
});

test('lung and lesion numbers per side, with voxel size and without', () => {
  // 4 right-lung voxels (1 with lesion), 2 left-lung voxels (both lesion), 1 lesion voxel outside the lungs (ignored).
  const lungs = createVolume(Uint8Array.from([1, 1, 1, 1, 2, 2, 0, 0]), [2, 2, 2], { spacingMm: [10, 10, 5] });
  const lesions = createVolume(Uint8Array.from([1, 0, 0, 0, 1, 1, 1, 0]), [2, 2, 2], { spacingMm: [10, 10, 5] });
  const n = lungAndLesionNumbers(lungs, lesions, true, COMPLETE);
  assert.deepEqual(n.lungs, { right: { voxels: 4, volumeMl: 2 }, left: { voxels: 2, volumeMl: 1 }, total: { voxels: 6, volumeMl: 3 } });
  assert.deepEqual(n.lesions.right, { voxels: 1, volumeMl: 0.5, percentOfLung: 25 });
  assert.deepEqual(n.lesions.left, { voxels: 2, volumeMl: 1, percentOfLung: 100 });
  assert.equal(n.lesions.total.percentOfLung, 50);
  assert.equal(n.severity.category, 'CT-3');
  const slice = lungAndLesionNumbers(lungs, lesions, false, COMPLETE);
  assert.equal(slice.lungs.total.volumeMl, null);
  assert.equal(slice.lesions.total.percentOfLung, 50);
});

test('report.html is self-contained and escapes what it shows', () => {
  const numbers = lungAndLesionNumbers(createVolume(Uint8Array.from([1, 2]), [2, 1, 1]), createVolume(Uint8Array.from([0, 1]), [2, 1, 1]), true, COMPLETE);
  const report: SegmentReport = {
    format: 'covseg-report', version: 1, createdAt: '2026-01-01T00:00:00Z',
    input: { path: '/scans/<patient>.nii.gz', format: 'nifti', dims: [2, 1, 1], spacingMm: [1, 1, 1], spacingKnown: true, isHu: true, huReason: 'ok' },
    ...numbers, models: { lung: 'lung', lesion: 'lesion' }, outputs: {}, timingsMs: { read: 1200 }, warnings: ['odd & rare'],
  };
  const html = renderReportHtml(report, [{ png: Uint8Array.from([137, 80, 78, 71]), caption: 'slice' }]);
  assert.match(html, /CT-3: 50\.0% of lung affected/);
  assert.match(html, /&lt;patient&gt;/);
  assert.match(html, /odd &amp; rare/);
  assert.match(html, /src="data:image\/png;base64,iVBORw=="/);
  assert.doesNotMatch(html, /<script|<link|https?:\/\//, 'no scripts, no external resources');
});

test('a grade only where the quality allows it: partial or implausible lungs get the percentage of the lung in view and the reason; no lungs is "no lungs in view", never CT-0', () => {
  assert.deepEqual(gradeSeverity(30, COMPLETE), { category: 'CT-2', percentAffected: 30, percentOf: 'both lungs', description: 'moderate: 25–50% of the lungs affected' });
  const partial = gradeSeverity(30, { assessable: true, lungCoverage: 'partial', warnings: ['the lungs reach the top slice: the apices are cut off'] });
  assert.deepEqual([partial.category, partial.percentAffected, partial.percentOf], [null, 30, 'the lung in view']);
  assert.equal(partial.reason, 'the lungs are not wholly in view (the lungs reach the top slice: the apices are cut off)');
  assert.equal(severityHeadline(partial), 'no grade');
  const implausible = gradeSeverity(30, { assessable: false, lungCoverage: 'complete', warnings: ['the left lung is missing'] });
  assert.deepEqual([implausible.category, implausible.reason], [null, 'the lung mask is not plausible (the left lung is missing)']);
  const none = gradeSeverity(0, { assessable: false, lungCoverage: 'none', warnings: ['no lungs in view: no severity grade can be given'] });
  assert.deepEqual([none.category, none.description, severityHeadline(none)], [null, 'no lungs in view', 'no lungs in view']);

  const lungs = createVolume(Uint8Array.from([1, 2]), [2, 1, 1]);
  const report = (quality: LungQuality, lesion: number[]): SegmentReport => ({
    format: 'covseg-report', version: 1, createdAt: '2026-01-01T00:00:00Z',
    input: { path: 'x.nii.gz', format: 'nifti', dims: [2, 1, 1], spacingMm: [1, 1, 1], spacingKnown: true, isHu: true, huReason: 'ok' },
    ...lungAndLesionNumbers(lungs, createVolume(Uint8Array.from(lesion), [2, 1, 1]), true, quality), models: { lung: 'lung', lesion: 'lesion' }, outputs: {}, timingsMs: {}, warnings: [],
  });
  const html = renderReportHtml(report({ assessable: true, lungCoverage: 'partial', warnings: ['the lungs reach the bottom slice: the bases are cut off'] }, [0, 1]), []);
  assert.match(html, /No severity grade: 50\.0% of the lung in view affected/);
  assert.match(html, /the bases are cut off/);
  assert.match(html, /affected \(of the lung in view\)/);
  assert.doesNotMatch(html, /CT-[0-4]:/);
  const empty = renderReportHtml(report({ assessable: false, lungCoverage: 'none', warnings: [] }, [0, 0]), []);
  assert.match(empty, /<title>covseg report: no lungs in view<\/title>/);
  assert.match(empty, /No lungs in view/);
  assert.doesNotMatch(empty, /CT-0/);
});

test('lesionSpread: the lowest and highest lesion volume and % affected over the test-time members, per side', async () => {
  const { lesionSpread } = await import('../../src/segment/report.js');
  const { createVolume } = await import('../../src/volume/volume.js');
  const dims = [10, 1, 1] as [number, number, number];
  const lungs = createVolume(Uint8Array.from([1, 1, 1, 1, 1, 2, 2, 2, 2, 2]), dims, { spacingMm: [10, 10, 10] });
  const member = (on: number[]) => createVolume(Uint8Array.from({ length: 10 }, (_, i) => (on.includes(i) ? 1 : 0)), dims, { spacingMm: [10, 10, 10] });
  const quality = { lungCoverage: 'whole', assessable: true, warnings: [] } as never;
  const s = lesionSpread(lungs, [member([0]), member([0, 1, 5]), member([5, 6, 7])], true, quality);
  assert.equal(s.members, 3);
  assert.deepEqual(s.right.percentOfLung, [0, 40]);
  assert.deepEqual(s.left.percentOfLung, [0, 60]);
  assert.deepEqual(s.total.percentOfLung, [10, 30]);
  assert.deepEqual(s.total.volumeMl, [1, 3]);
  assert.equal(lesionSpread(lungs, [member([0])], false, quality).total.volumeMl, null);
});
