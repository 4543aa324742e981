/** Job records: ids, progress arithmetic, outputs confined to the job folder, expiry. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { JobStore, jobProgress, JOB_ID_PATTERN, type Job } from '../../src/web/job-store.js';
import { HttpError } from '../../src/web/http-error.js';
import { DiskBudget } from '../../src/web/disk-budget.js';
import { lungAndLesionNumbers, type SegmentReport, type SegmentResult } from '../../src/segment/index.js';
import { createVolume } from '../../src/volume/volume.js';

async function withStore(options: ConstructorParameters<typeof JobStore>[1], fn: (store: JobStore, root: string) => Promise<void>): Promise<void> {
  const root = await mkdtemp(join(tmpdir(), 'covseg-store-'));
  const store = new JobStore(root, options);
  try {
    await fn(store, root);
  } finally {
    await store.close();
    await rm(root, { recursive: true, force: true });
  }
}

test('jobProgress: stage spans read 0–5%, lungs 5–50%, lesions 50–90%, report 90–95%, write 95–100%', () => {
  const cases: [Pick<Job, 'status' | 'stage' | 'stageDone' | 'stageTotal'>, number][] = [
    [{ status: 'queued', stage: undefined, stageDone: 0, stageTotal: 0 }, 0],
    [{ status: 'running', stage: 'read', stageDone: 0, stageTotal: 1 }, 0],
    [{ status: 'running', stage: 'read', stageDone: 1, stageTotal: 1 }, 0.05],
    [{ status: 'running', stage: 'lungs', stageDone: 40, stageTotal: 80 }, 0.275],
    [{ status: 'running', stage: 'lesions', stageDone: 10, stageTotal: 40 }, 0.6],
    [{ status: 'running', stage: 'report', stageDone: 0, stageTotal: 0 }, 0.9],
    [{ status: 'running', stage: 'write', stageDone: 7, stageTotal: 5 }, 1],
    [{ status: 'failed', stage: 'lungs', stageDone: 1, stageTotal: 2 }, 0.275],
    [{ status: 'done', stage: 'report', stageDone: 0, stageTotal: 1 }, 1],
  ];
  for (const [job, expected] of cases) assert.ok(Math.abs(jobProgress(job) - expected) < 1e-12, `${JSON.stringify(job)}: ${jobProgress(job)} ≠ ${expected}`);
});

test('create: 128-bit hex ids, unique, each with its own folder', async () => {
  await withStore({}, async (store, root) => {
    const ids = new Set<string>();
    for (let i = 0; i < 200; i++) {
      const job = await store.create(`scan${i}.nii.gz`);
      assert.match(job.id, JOB_ID_PATTERN);
      assert.equal(job.status, 'queued');
      assert.equal(job.dir, join(root, job.id));
      ids.add(job.id);
    }
    assert.equal(ids.size, 200);
    assert.equal((await readdir(root)).length, 200);
  });
});

test('get: malformed, unknown and removed ids are a 404 naming the TTL', async () => {
  await withStore({ ttlMs: 90_000 }, async (store) => {
    const job = await store.create('a.dcm');
    assert.equal(store.get(job.id), job);
    await store.remove(job.id);
    for (const id of [job.id, '../../etc/passwd', job.id.toUpperCase(), job.id.slice(1), `${job.id}0`, '']) {
      assert.throws(() => store.get(id), (err: unknown) => err instanceof HttpError && err.statusCode === 404 && err.code === 'not-found' && /finished more than 90 s ago/.test(err.message), id);
    }
  });
});

test('fail: status, end time, expiry, and the job folder removed from the message', async () => {
  await withStore({ ttlMs: 5000 }, async (store) => {
    const job = await store.create('a.dcm');
    store.fail(job, `${join(job.dir, 'input.dcm')}: the DICOM modality is 'MR', not CT`);
    assert.equal(job.status, 'failed');
    assert.equal(job.error, "input.dcm: the DICOM modality is 'MR', not CT");
    assert.equal(store.expiresAt(job), job.finishedAt! + 5000);
  });
});

function tinyReport(): SegmentReport {
  const lungs = createVolume(new Uint8Array([1, 1, 2, 0]), [2, 2, 1], { spacingMm: [10, 10, 10] });
  const lesions = createVolume(new Uint8Array([1, 0, 0, 0]), [2, 2, 1], { spacingMm: [10, 10, 10] });
  return {
    format: 'covseg-report', version: 1, createdAt: new Date(0).toISOString(),
    input: { path: 'x', format: 'nifti', dims: [2, 2, 1], spacingMm: [10, 10, 10], spacingKnown: true, isHu: true, huReason: '' },
    ...lungAndLesionNumbers(lungs, lesions, true, { assessable: true, lungCoverage: 'complete', warnings: [] }),
    models: { lung: 'l', lesion: 'l' }, outputs: {}, timingsMs: {}, warnings: [],
  };
}

test('complete: outputs by kind with sizes (the DICOM SEG and SR among them, for download); paths outside the job folder are never listed', async () => {
  await withStore({}, async (store) => {
    const job = await store.create('a.dcm');
    const other = await store.create('b.dcm');
    const out = join(job.dir, 'out');
    await mkdir(out);
    const files = { 'lungs.nii.gz': 11, 'lesions.nii.gz': 12, 'ct.nii.gz': 13, 'report.json': 14, 'report.html': 15, 'overlays.png': 16, 'overlay-slice001.png': 17, 'segmentation.dcm': 18, 'report-sr.dcm': 19 };
    for (const [name, bytes] of Object.entries(files)) await writeFile(join(out, name), new Uint8Array(bytes));
    await writeFile(join(other.dir, 'secret.png'), 'x');
    const result: SegmentResult = {
      outDir: out,
      report: tinyReport(),
      files: {
        lungs: join(out, 'lungs.nii.gz'), lesions: join(out, 'lesions.nii.gz'), viewerCt: join(out, 'ct.nii.gz'),
        reportJson: join(out, 'report.json'), reportHtml: join(out, 'report.html'),
        dicomSeg: join(out, 'segmentation.dcm'), dicomSr: join(out, 'report-sr.dcm'),
        overlays: [join(out, 'overlays.png'), join(out, 'overlay-slice001.png'), join(other.dir, 'secret.png'), join(out, '../../', other.id, 'secret.png')],
      },
    };
    await store.complete(job, result);
    assert.equal(job.status, 'done');
    assert.deepEqual(job.outputs.map((o) => [o.name, o.kind, o.bytes]), [
      ['ct.nii.gz', 'ct', 13], ['lungs.nii.gz', 'lungs', 11], ['lesions.nii.gz', 'lesions', 12],
      ['segmentation.dcm', 'dicom-seg', 18], ['report-sr.dcm', 'dicom-sr', 19],
      ['report.json', 'report-json', 14], ['report.html', 'report-html', 15],
      ['overlays.png', 'overlay', 16], ['overlay-slice001.png', 'overlay', 17],
    ]);
    assert.equal(job.report?.lesions.total.percentOfLung, 33.33);
  });
});

test('disk budget: a finished job\'s outputs are counted; removing the job gives its bytes back', async () => {
  await withStore({ disk: new DiskBudget(1000) }, async (store) => {
    const job = await store.create('a.dcm');
    job.disk.charge(300, 'x'); // its upload
    const out = join(job.dir, 'out');
    await mkdir(out);
    const files = { lungs: 'lungs.nii.gz', lesions: 'lesions.nii.gz', reportJson: 'report.json', reportHtml: 'report.html' };
    for (const [i, name] of Object.values(files).entries()) await writeFile(join(out, name), new Uint8Array(10 * (i + 1)));
    const paths = Object.fromEntries(Object.entries(files).map(([k, name]) => [k, join(out, name)])) as typeof files;
    await store.complete(job, { outDir: out, report: tinyReport(), files: { ...paths, overlays: [] } });
    assert.equal(store.disk.usedBytes, 300 + 10 + 20 + 30 + 40);
    await store.remove(job.id);
    assert.equal(store.disk.usedBytes, 0);
  });
});

test('sweep: a finished job is removed exactly ttlMs after it ended; queued and running jobs stay', async () => {
  await withStore({ ttlMs: 1000, sweepIntervalMs: 3_600_000 }, async (store) => {
    const finished = await store.create('a.dcm');
    const running = await store.create('b.dcm');
    running.status = 'running';
    const queued = await store.create('c.dcm');
    store.fail(finished, 'x');
    const end = finished.finishedAt!;
    assert.deepEqual(await store.sweep(end + 999), []);
    assert.ok(existsSync(finished.dir));
    assert.deepEqual(await store.sweep(end + 1000), [finished.id]);
    assert.equal(existsSync(finished.dir), false);
    assert.deepEqual(store.list().map((j) => j.id).sort(), [running.id, queued.id].sort());
  });
});

test('expiry runs by itself: with a 60 ms TTL the job and its folder go without a sweep call', async () => {
  await withStore({ ttlMs: 60, sweepIntervalMs: 20 }, async (store) => {
    const job = await store.create('a.dcm');
    await writeFile(join(job.dir, 'upload'), 'bytes');
    store.fail(job, 'x');
    const deadline = Date.now() + 20_000; // generous: only that it happens is asserted, not how fast
    while (existsSync(job.dir) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    assert.equal(existsSync(job.dir), false);
    assert.throws(() => store.get(job.id), HttpError);
  });
});

test('close: every job folder is removed', async () => {
  const root = await mkdtemp(join(tmpdir(), 'covseg-store-'));
  const store = new JobStore(root);
  const jobs = [await store.create('a'), await store.create('b')];
  await store.close();
  for (const job of jobs) assert.equal(existsSync(job.dir), false);
  await rm(root, { recursive: true, force: true });
});
