/**
 * The Zenodo 3757476 slice set as re-published in dstaroff/COVID19-CT-Segmentation:
 * `ct/NNNN.png` (256×256 8-bit, min-max scaled then CLAHE-enhanced: not HU),
 * `lungs/NNNN.png` and `covid/NNNN.png` (0/255 masks), and `slices.csv`
 * (`file,patient_group,source`, reconstructed: which patient each slice comes from).
 */
import { join } from 'node:path';
import { CovsegError } from '../util/errors.js';
import { isDirectory, isFile, listFiles, naturalCompare, readCsv, requireRoot } from './files.js';
import { loadCaseFiles } from './load-case.js';
import { coronacasesGroup } from './patient-groups.js';
import type { CaseRef, DatasetAdapter, SourceScan } from './types.js';

const LAYOUT = 'ct/NNNN.png, lungs/NNNN.png, covid/NNNN.png and slices.csv';
const PNG = /^(.+)\.png$/i;

/** zenodo-slices group → patientGroup: its coronacases are Zenodo's, by number. */
export function zenodoSliceGroup(group: string): string {
  const corona = group.match(/^coronacases_(\d+)$/);
  return corona ? coronacasesGroup(Number(corona[1])) : `zenodo-slices:${group}`;
}

async function readSliceGroups(path: string): Promise<Map<string, string>> {
  const groups = new Map<string, string>();
  for (const row of await readCsv(path, ['file', 'patient_group'])) if (row['file'] && row['patient_group']) groups.set(row['file'], row['patient_group']);
  return groups;
}

export async function scanZenodoSlices(root: string): Promise<SourceScan> {
  await requireRoot(root, 'zenodo-slices', LAYOUT);
  if (!(await isDirectory(join(root, 'ct')))) throw new CovsegError(`no ct/ folder; the slice set is expected as ${LAYOUT}`, { file: root });
  const notes: string[] = [];
  const csv = join(root, 'slices.csv');
  const groups = (await isFile(csv)) ? await readSliceGroups(csv) : undefined;
  if (!groups) notes.push('no slices.csv: patients unknown, each slice is its own patientGroup, so slices of one patient can sit in two splits');
  const hasLungs = await isDirectory(join(root, 'lungs'));
  const cases: CaseRef[] = [];
  let ungrouped = 0;
  for (const name of await listFiles(join(root, 'ct'), PNG)) {
    const id = name.match(PNG)![1]!;
    const group = groups?.get(name);
    if (groups && !group) ungrouped++;
    const files: CaseRef['files'] = { image: join(root, 'ct', name), lesion: join(root, 'covid', name) };
    if (hasLungs) files.lung = join(root, 'lungs', name);
    cases.push({ source: 'zenodo-slices', originalId: id, kind: 'slice', patientGroup: group ? zenodoSliceGroup(group) : `zenodo-slices:slice_${id}`, files });
  }
  cases.sort((a, b) => naturalCompare(a.originalId, b.originalId));
  if (ungrouped > 0) notes.push(`${ungrouped} slices not listed in slices.csv: each is its own patientGroup`);
  const patientGroups = new Set(cases.map((c) => c.patientGroup)).size;
  notes.push(`${cases.length} slices of ${patientGroups} patient groups`);
  return { source: 'zenodo-slices', root, cases, notes };
}

export const zenodoSlices: DatasetAdapter = {
  source: 'zenodo-slices',
  kind: 'slice',
  layout: LAYOUT,
  scan: scanZenodoSlices,
  load: (ref) =>
    loadCaseFiles(ref, {
      lesionLabels: 'grey-0-255',
      lungEncoding: 'grey-0-255',
      knownNotHu: '8-bit PNG slice (min-max scaled, then CLAHE-enhanced by its publisher): not Hounsfield units',
    }),
};
