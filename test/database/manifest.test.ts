import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadManifest, loadSplits, makeSplits } from '../../src/database/index.js';
import { handCase, handManifest, writeHandDatabase } from '../helpers/hand-database.js';

let root: string;
before(async () => {
  root = await mkdtemp(join(tmpdir(), 'covseg-manifest-'));
});
after(async () => {
  await rm(root, { recursive: true, force: true });
});

const good = () => handManifest([handCase('Case-0000', 'medseg9', 'volume'), handCase('Case-0001', 'zenodo', 'volume', false), handCase('Slice-00000', 'semiseg', 'slice')]);

/** The loader's error for `manifest`, checked to be one line that names the file. */
async function manifestError(name: string, manifest: unknown): Promise<string> {
  const dir = join(root, name);
  await writeHandDatabase(dir, manifest);
  const err = await loadManifest(dir).then(() => assert.fail('loaded'), (e: Error) => e);
  assert.ok(!err.message.includes('\n'), err.message);
  assert.ok(err.message.startsWith(`${join(dir, 'manifest.json')}: `), err.message);
  return err.message.slice(join(dir, 'manifest.json').length + 2);
}

test('manifest schema: a wrong field is one line naming the file and the field path', async () => {
  const fix = "; rebuild the database with 'covseg build-db'";
  const shortSpacing = good();
  (shortSpacing.cases[2]!.original.spacingMm as number[]) = [1, 1];
  assert.equal(await manifestError('spacing', shortSpacing), `key 'cases[2].original.spacingMm' should be an array of 3 numbers, got an array of 2${fix}`);
  const textVoxels = good() as unknown as { cases: Record<string, unknown>[] };
  textVoxels.cases[1]!['lesionVoxels'] = '12';
  assert.equal(await manifestError('voxels', textVoxels), `key 'cases[1].lesionVoxels' should be number, got string${fix}`);
  const sliceZ = good() as unknown as { cases: { slices2d: Record<string, unknown>[] }[] };
  sliceZ.cases[0]!.slices2d[0]!['z'] = null;
  assert.equal(await manifestError('z', sliceZ), `key 'cases[0].slices2d[0].z' should be number, got null${fix}`);
  const lungSource = good() as unknown as { cases: Record<string, unknown>[] };
  lungSource.cases[0]!['lungMaskSource'] = 'lungmask';
  assert.equal(await manifestError('lung-source', lungSource), `key 'cases[0].lungMaskSource' is 'lungmask', expected dataset, missing or model:<name>${fix}`);
  const source = good() as unknown as { sources: Record<string, unknown>[] };
  source.sources[0]!['name'] = 'kaggle';
  assert.match(await manifestError('source', source), /^key 'sources\[0\]\.name' is 'kaggle', expected one of mosmed, medseg100, medseg9, zenodo, zenodo-slices, zenodo-slice-stacks, semiseg, semiseg-pseudo, pseudo-labels;/);
  const noId = good() as unknown as { cases: Record<string, unknown>[] };
  delete noId.cases[1]!['caseId'];
  assert.equal(await manifestError('no-id', noId), `missing key 'cases[1].caseId' (string)${fix}`);
  assert.equal(await manifestError('array', []), `the top level should be object, got an array of 0${fix}`);
  // Another file is named as such, not by its first missing key.
  const splits = makeSplits([{ caseId: 'Case-0000', source: 'medseg9', patientGroup: 'p' }]);
  assert.equal(await manifestError('splits', splits), `key 'format' is 'covseg-splits', expected 'covseg-database' (this is not a covseg database manifest)${fix}`);
});

test('manifest schema: an older manifest (no output checksums, no lungVoxels, no lungModel) still loads', async () => {
  const dir = join(root, 'old');
  const manifest = good() as unknown as { options: Record<string, unknown>; cases: Record<string, unknown>[] };
  delete manifest.options['lungModel'];
  for (const c of manifest.cases) {
    delete c['outputs'];
    delete c['lungVoxels'];
    c['retiredKey'] = 'dropped on load';
  }
  await writeHandDatabase(dir, manifest);
  const loaded = await loadManifest(dir);
  assert.equal(loaded.options.lungModel, null);
  assert.deepEqual(loaded.cases.map((c) => c.lungVoxels), [null, null, null]);
  assert.deepEqual(loaded.cases.map((c) => c.outputs), [undefined, undefined, undefined]);
  assert.ok(loaded.cases.every((c) => !('retiredKey' in c)), 'keys the schema does not know are dropped');
  const expected = good();
  for (const c of expected.cases) c.lungVoxels = null;
  assert.deepEqual(loaded, expected);
});

test('splits schema: a subset name that is not one is named with its case id', async () => {
  const dir = join(root, 'splits');
  await writeHandDatabase(dir, good(), { 'Case-0000': 'train', 'Case-0001': 'test', 'Slice-00000': 'holdout' as 'test' });
  await assert.rejects(loadSplits(dir), (err: Error) => {
    assert.equal(err.message, `${join(dir, 'splits.json')}: key 'caseSplit.Slice-00000' is 'holdout', expected one of train, validation, test; rebuild the database with 'covseg build-db' (splits are rewritten at the end of every build)`);
    return true;
  });
});
