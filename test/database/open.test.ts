import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeSplits, openDatabase } from '../../src/database/index.js';
import { handCase, handManifest, writeHandDatabase } from '../helpers/hand-database.js';

let root: string;
let db: string;
before(async () => {
  root = await mkdtemp(join(tmpdir(), 'covseg-open-'));
  db = join(root, 'db');
  const cases = [
    handCase('Case-0000', 'medseg9', 'volume'),
    handCase('Case-0001', 'mosmed', 'volume', false),
    handCase('Case-0002', 'zenodo', 'volume'),
    handCase('Slice-00000', 'semiseg', 'slice'),
    handCase('Slice-00001', 'semiseg', 'slice', false),
  ];
  await writeHandDatabase(db, handManifest(cases), { 'Case-0000': 'train', 'Case-0001': 'train', 'Case-0002': 'test', 'Slice-00000': 'train', 'Slice-00001': 'validation' });
});
after(async () => {
  await rm(root, { recursive: true, force: true });
});

const ids = (cases: { record: { caseId: string } }[]) => cases.map((c) => c.record.caseId);

test('cases({ split, sources, task }): one query for training and evaluation', async () => {
  const open = await openDatabase(db);
  assert.deepEqual(ids(open.cases()), ['Case-0000', 'Case-0001', 'Case-0002', 'Slice-00000', 'Slice-00001'], "default: 'all' splits, every source, in case-id order");
  assert.deepEqual(ids(open.cases({ split: 'train' })), ['Case-0000', 'Case-0001', 'Slice-00000']);
  assert.deepEqual(ids(open.cases({ split: 'train', sources: ['semiseg', 'mosmed'] })), ['Case-0001', 'Slice-00000']);
  assert.deepEqual(open.cases({ split: 'validation' }).map((c) => c.split), ['validation']);

  // Files are absolute and chosen by the task: the reference is the lesion or the lung mask.
  const [lesion] = open.cases({ split: 'test', task: 'lesion' });
  assert.deepEqual(lesion!.volume, { image: join(db, '3d/Case-0002/image.nrrd'), lesionMask: join(db, '3d/Case-0002/lesion.nrrd'), reference: join(db, '3d/Case-0002/lesion.nrrd'), lungMask: join(db, '3d/Case-0002/lung.nrrd') });
  assert.deepEqual(lesion!.slices, [{ name: 'Case-0002_z001', z: 1, image: join(db, '2d/images/Case-0002_z001.png'), lesionMask: join(db, '2d/lesions/Case-0002_z001.png'), reference: join(db, '2d/lesions/Case-0002_z001.png'), lungMask: join(db, '2d/lungs/Case-0002_z001.png') }]);
  const [lung] = open.cases({ split: 'test', task: 'lung' });
  assert.equal(lung!.volume!.reference, join(db, '3d/Case-0002/lung.nrrd'));
  assert.equal(lung!.volume!.lesionMask, join(db, '3d/Case-0002/lesion.nrrd'), "a lung model's files name the lesion too (--sampling lesion)");
  // A case without a lung mask has no reference for a lung model, and a lesion reference without lung mask for a lesion model.
  const noLung = open.cases({ split: 'validation', task: 'lung' })[0]!;
  assert.equal(noLung.volume, undefined, '2D-only case');
  assert.deepEqual(noLung.slices, [{ name: 'Slice-00001', z: 0, image: join(db, '2d/images/Slice-00001.png'), lesionMask: join(db, '2d/lesions/Slice-00001.png') }]);
  assert.deepEqual(open.cases({ split: 'validation' })[0]!.slices[0]!.reference, join(db, '2d/lesions/Slice-00001.png'));

  // The one source-name check: the same words wherever a name comes in.
  assert.throws(() => open.cases({ sources: ['kaggle'] }), (err: Error) => err.message === `${db}: unknown source 'kaggle'; valid sources: mosmed, medseg100, medseg9, zenodo, zenodo-slices, zenodo-slice-stacks, semiseg, semiseg-pseudo, pseudo-labels`);
});

test('openDatabase takes the manifest file too, and refuses splits whose lists and map disagree', async () => {
  assert.deepEqual(ids((await openDatabase(join(db, 'manifest.json'))).cases({ split: 'test' })), ['Case-0002']);
  const bad = join(root, 'bad');
  await writeHandDatabase(bad, handManifest([handCase('Case-0000', 'medseg9', 'volume')]));
  const splits = makeSplits([{ caseId: 'Case-0000', source: 'medseg9', patientGroup: 'p' }]);
  splits.cases.train = [];
  await writeFile(join(bad, 'splits.json'), JSON.stringify(splits));
  await assert.rejects(openDatabase(bad), /splits\.json: key 'caseSplit\.Case-0000' is 'train', but cases\.train does not list Case-0000/);
});

test('openDatabase({ fold }): the fold\'s subsets answer cases({ split }) in place of splits.json; a bad fold is refused in words', async () => {
  const open = await openDatabase(db, { fold: 'out=semiseg' });
  assert.deepEqual(ids(open.cases({ split: 'test' })), ['Slice-00000', 'Slice-00001']);
  assert.ok(open.cases({ split: 'train' }).every((c) => c.record.source !== 'semiseg'));
  await assert.rejects(openDatabase(db, { fold: 'semiseg' }), /neither out=NAME .* nor kK\/I/);
});
