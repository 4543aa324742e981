import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rm, writeFile, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { batchInputs, caseNames, studyCaseName, verifiedDone, DONE_MARKER, type BatchSummary } from '../../src/batch/index.js';
import { encodePng } from '../../src/io/raster.js';
import { writeVolume } from '../../src/io/index.js';
import type { SegmentReport } from '../../src/segment/index.js';
import { fixturePath, scoredCt } from '../lungs/fixtures.js';
import { noQueueNodeOptions, runCovseg } from '../helpers/run-cli.js';
import { lesionModelFor, needsLungModel } from '../web/pipeline-models.js';
import { makeScans, needsScans } from './scans.js';

test('case names: named after the input, file-system safe, unique by a hash of the path only where two collide', () => {
  const names = caseNames(['/a/ct scan#1.nii.gz', '/b/ct.nii.gz', '/c/ct.nii.gz', '/d/summary.json', '/e/.hidden.png', '/f/series-01']);
  assert.equal(names[0], 'ct_scan_1');
  assert.match(names[1]!, /^ct-[0-9a-f]{8}$/);
  assert.match(names[2]!, /^ct-[0-9a-f]{8}$/);
  assert.notEqual(names[1], names[2]);
  // The same inputs in another order keep their names (a rerun finds its folders).
  assert.deepEqual(caseNames(['/c/ct.nii.gz', '/b/ct.nii.gz']), [names[2], names[1]]);
  assert.match(names[3]!, /^summary\.json-[0-9a-f]{8}$/);
  assert.equal(names[4], 'hidden');
  assert.equal(names[5], 'series-01');
});

test('study names: PatientID_StudyDate_HASH, file-system safe, from the study alone; a missing PatientID or date left out', () => {
  const uid = '1.2.840.113619.2.55.3.1234';
  const name = studyCaseName({ studyInstanceUid: uid, patientId: '../AB 12/ü', studyDate: '20200315' });
  assert.equal(name, `AB_12_20200315_${createHash('sha256').update(uid).digest('hex').slice(0, 12)}`);
  assert.equal(studyCaseName({ studyInstanceUid: uid, patientId: '../AB 12/ü', studyDate: '20200315' }), name, 'stable');
  assert.notEqual(studyCaseName({ studyInstanceUid: `${uid}.1`, patientId: '../AB 12/ü', studyDate: '20200315' }), name, 'two studies of one patient on one day');
  assert.match(studyCaseName({ studyInstanceUid: uid }), /^[0-9a-f]{12}$/);
  assert.match(studyCaseName({ studyInstanceUid: uid, studyDate: '20200315' }), /^20200315_[0-9a-f]{12}$/);
});

test('batch inputs: a list (relative paths, comments, repeats) and a folder (images and series subfolders, other files left out)', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'covseg-batch-inputs-'));
  try {
    await writeFile(join(dir, 'a.png'), encodePng({ width: 2, height: 2, channels: 1, data: new Uint8Array(4) }));
    await writeFile(join(dir, 'notes.txt'), 'not an image\n');
    await writeFile(join(dir, 'list.txt'), '# scans\nmissing.nii.gz\n\n/abs/x.nii.gz\nmissing.nii.gz\n');
    const list = await batchInputs(join(dir, 'list.txt'));
    assert.deepEqual(list.cases.map((c) => c.input), [join(dir, 'missing.nii.gz'), '/abs/x.nii.gz']);
    assert.match(list.notes.join(), /1 repeated line/);
    await rm(join(dir, 'list.txt'));
    await mkdir(join(dir, 'series1'));
    const folder = await batchInputs(dir);
    assert.deepEqual(folder.cases.map((c) => c.name), ['a', 'series1']);
    assert.match(folder.notes.join(), /notes\.txt/);
    await assert.rejects(batchInputs(join(dir, 'nope')), /nope: cannot open --input: no such file or folder/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('covseg batch: every scan its folder and a summary; a bad entry fails alone (exit 1); a rerun redoes only the deleted case; BullMQ is never loaded', { skip: needsLungModel() || needsScans() }, async () => {
  const dir = await mkdtemp(join(tmpdir(), 'covseg-batch-local-'));
  try {
    const lesion = await lesionModelFor(dir);
    const scans = await makeScans(join(dir, 'in'), 3);
    const list = join(dir, 'list.txt');
    await writeFile(list, [...scans, join(dir, 'in', 'missing.nii.gz')].join('\n') + '\n');
    const out = join(dir, 'out');
    const args = ['batch', '--input', list, '--out', out, '--jobs', '2', '--lesion-model', lesion.path];
    // A local batch never loads the queue (BullMQ, ioredis): a resolve hook in this run,
    // and in every process it starts, refuses them.
    const first = runCovseg(args, { NODE_OPTIONS: await noQueueNodeOptions(dir) });
    assert.doesNotMatch(first.stderr, /loaded the queue/);
    assert.equal(first.status, 1, first.stderr);
    assert.match(first.stderr, /failed: missing: .*missing\.nii\.gz: cannot open/);
    const s1 = JSON.parse(await readFile(join(out, 'summary.json'), 'utf8')) as BatchSummary;
    assert.deepEqual(s1.counts, { done: 3, skipped: 0, failed: 1 });
    for (const c of s1.cases.filter((x) => x.status === 'done')) {
      for (const f of ['report.json', 'report.html', 'overlays.png', DONE_MARKER]) await stat(join(out, c.name, f));
      assert.equal(typeof c.percentAffected?.right, 'number');
    }
    const csv = (await readFile(join(out, 'summary.csv'), 'utf8')).trim().split('\n');
    assert.equal(csv.length, 5);
    assert.match(csv[0]!, /^case,input,study_uid,status,time_s,error,severity,severity_reason,right_pct,left_pct,total_pct,lung_coverage,warnings,/);

    // Delete one output file of one case: only that case runs again.
    const victim = s1.cases.find((c) => c.status === 'done')!;
    const marker = JSON.parse(await readFile(join(out, victim.name, DONE_MARKER), 'utf8')) as { key: string; finishedAt: string };
    await rm(join(out, victim.name, 'report.html'));
    assert.equal(await verifiedDone(join(out, victim.name), marker.key), undefined);
    const second = runCovseg(args);
    assert.equal(second.status, 1, second.stderr);
    const s2 = JSON.parse(await readFile(join(out, 'summary.json'), 'utf8')) as BatchSummary;
    assert.deepEqual(s2.counts, { done: 1, skipped: 2, failed: 1 });
    assert.equal(s2.cases.find((c) => c.status === 'done')!.name, victim.name);
    const redone = JSON.parse(await readFile(join(out, victim.name, DONE_MARKER), 'utf8')) as { finishedAt: string };
    assert.notEqual(redone.finishedAt, marker.finishedAt);
    await stat(join(out, victim.name, 'report.html'));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

const s1Csv = (csv: string) => csv.split('\n')[0]!;

test('covseg batch --lobe-weights: each scan gets lobes.nii.gz and its lobar TSS / Pan scores; a file that is not LTRCLobes weights is refused before any scan runs', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'covseg-batch-lobes-'));
  try {
    // The lungmask fixture's networks (the real architectures, narrow layers), as test/segment/lobes.test.ts uses them.
    const lesion = await lesionModelFor(dir);
    const scan = join(dir, 'scored.nii.gz');
    await writeVolume(scan, scoredCt());
    const list = join(dir, 'list.txt');
    await writeFile(list, `${scan}\n`);
    const out = join(dir, 'out');
    const lungs = ['--lung-model', 'r231', '--lung-weights', fixturePath('r231-tiny.pth'), '--lesion-model', lesion.path];
    const wrong = runCovseg(['batch', '--input', list, '--out', out, ...lungs, '--lobe-weights', fixturePath('r231-tiny.pth')]);
    assert.equal(wrong.status, 1, wrong.stderr);
    assert.match(wrong.stderr, /r231-tiny\.pth/);
    await assert.rejects(stat(join(out, 'summary.json')), /ENOENT/);

    const r = runCovseg(['batch', '--input', list, '--out', out, ...lungs, '--lobe-weights', fixturePath('lobes-tiny-legacy.pth')]);
    assert.equal(r.status, 0, r.stderr);
    const report = JSON.parse(await readFile(join(out, 'scored', 'report.json'), 'utf8')) as SegmentReport;
    assert.equal(report.outputs['lobes'], 'lobes.nii.gz');
    assert.equal(report.models.lobes, 'ltrclobes:lobes-tiny-legacy.pth');
    const tss = report.clinical!.scores.lobarTss as { available: boolean; lobes?: { lobe: string }[] };
    assert.equal(tss.available, true, JSON.stringify(tss));
    assert.deepEqual(tss.lobes!.map((l) => l.lobe), ['RUL', 'RML', 'RLL', 'LUL', 'LLL']);
    assert.match(s1Csv(await readFile(join(out, 'summary.csv'), 'utf8')), /lobar_tss/);
    await stat(join(out, 'scored', 'lobes.nii.gz'));
    // The same scan without lobes is another job: its folder is redone, not skipped.
    const again = runCovseg(['batch', '--input', list, '--out', out, ...lungs]);
    assert.equal(again.status, 0, again.stderr);
    const s = JSON.parse(await readFile(join(out, 'summary.json'), 'utf8')) as BatchSummary;
    assert.deepEqual(s.counts, { done: 1, skipped: 0, failed: 0 });
    await assert.rejects(stat(join(out, 'scored', 'lobes.nii.gz')), /ENOENT/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
