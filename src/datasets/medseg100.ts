/**
 * MedSeg "COVID-19 CT segmentation dataset", 100 axial slices (medicalsegmentation.com/covid19,
 * CC0): `tr_im.nii.gz` (512×512×100, CT slices of ~40 patients from the Italian SIRM
 * collection, converted from JPEG back to Hounsfield units by the MedSeg radiologists),
 * `tr_mask.nii.gz` (1 ground-glass, 2 consolidation, 3 pleural effusion) and
 * `tr_lungmasks_updated.nii.gz` (two lung labels). Neighbouring slices belong to different
 * patients and no patient ids are published, so every slice is its own case and its own
 * patientGroup; they have no usable slice spacing, so they go to the 2D database only.
 */
import { join } from 'node:path';
import { readVolume } from '../io/index.js';
import type { Volume } from '../volume/volume.js';
import { CovsegError } from '../util/errors.js';
import { isFile, requireRoot } from './files.js';
import { loadCaseFiles, readCaseFile } from './load-case.js';
import type { CaseRef, DatasetAdapter, SourceScan } from './types.js';

const LAYOUT = 'tr_im.nii.gz, tr_mask.nii.gz and tr_lungmasks_updated.nii.gz in one folder';
const IMAGE = ['tr_im.nii.gz', 'tr_im.nii'];
const MASK = ['tr_mask.nii.gz', 'tr_mask.nii'];
const LUNG = ['tr_lungmasks_updated.nii.gz', 'tr_lungmasks_updated.nii'];

async function firstExisting(root: string, names: string[]): Promise<string | undefined> {
  for (const n of names) if (await isFile(join(root, n))) return join(root, n);
  return undefined;
}

/** One case per slice of tr_im.nii.gz. Reads the image once to count its slices. */
export async function scanMedseg100(root: string): Promise<SourceScan> {
  await requireRoot(root, 'medseg100', LAYOUT);
  const image = await firstExisting(root, IMAGE);
  if (!image) throw new CovsegError(`no tr_im.nii.gz; the MedSeg 100-slice set is expected as ${LAYOUT}`, { file: root });
  const lesion = (await firstExisting(root, MASK)) ?? join(root, MASK[0]!);
  const lung = await firstExisting(root, LUNG);
  const nz = (await readVolume(image)).dims[2];
  const cases: CaseRef[] = [];
  for (let z = 0; z < nz; z++) {
    const originalId = `slice_${String(z).padStart(3, '0')}`;
    const files = lung ? { image, lesion, lung } : { image, lesion };
    cases.push({ source: 'medseg100', originalId, kind: 'slice', patientGroup: `medseg100:${originalId}`, files, sliceIndex: z });
  }
  const notes = [
    `${nz} slices of ~40 patients without patient ids: each slice is its own patientGroup, so two slices of one patient can sit in two splits`,
  ];
  if (!lung) notes.push('no tr_lungmasks_updated.nii.gz: slices have no lung mask');
  return { source: 'medseg100', root, cases, notes };
}

/**
 * All 100 slices live in the same three files: keep the last files read so a batch of
 * slices decodes each file once.
 */
const cache = new Map<string, Promise<Volume>>();
function cachedRead(path: string, role: string): Promise<Volume> {
  let p = cache.get(path);
  if (!p) {
    if (cache.size >= 3) cache.delete(cache.keys().next().value!);
    p = readCaseFile(path, role);
    p.catch(() => cache.delete(path));
    cache.set(path, p);
  }
  return p;
}

export const medseg100: DatasetAdapter = {
  source: 'medseg100',
  kind: 'slice',
  layout: LAYOUT,
  scan: scanMedseg100,
  load: (ref) => loadCaseFiles(ref, { lesionLabels: 'ggo-consolidation' }, cachedRead),
};
