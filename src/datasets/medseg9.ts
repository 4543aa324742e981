/**
 * MedSeg's 9 Radiopaedia volumes (medicalsegmentation.com/covid19, CC0):
 * `rp_im/{1..9}.nii.gz` (630×630×Z CT), `rp_msk/{1..9}.nii.gz` (1 ground-glass,
 * 2 consolidation, 3 pleural effusion) and `rp_lung_msk/{1..9}.nii.gz` (one lung label).
 */
import { join } from 'node:path';
import { CovsegError } from '../util/errors.js';
import { isDirectory, isFile, listFiles, requireRoot } from './files.js';
import { loadCaseFiles } from './load-case.js';
import type { CaseRef, DatasetAdapter, SourceScan } from './types.js';

const LAYOUT = 'rp_im/N.nii.gz, rp_msk/N.nii.gz and rp_lung_msk/N.nii.gz for N = 1…9';
const VOLUME = /^(\d+)\.nii(\.gz)?$/;

export async function scanMedseg9(root: string): Promise<SourceScan> {
  await requireRoot(root, 'medseg9', LAYOUT);
  const imDir = join(root, 'rp_im');
  if (!(await isDirectory(imDir))) throw new CovsegError(`no rp_im/ folder; MedSeg's 9 volumes are expected as ${LAYOUT}`, { file: root });
  const notes: string[] = [];
  const hasLungDir = await isDirectory(join(root, 'rp_lung_msk'));
  if (!hasLungDir) notes.push('no rp_lung_msk/ folder: volumes have no dataset lung mask');
  const cases: CaseRef[] = [];
  for (const name of await listFiles(imDir, VOLUME)) {
    const id = name.match(VOLUME)![1]!;
    const lesion = join(root, 'rp_msk', name);
    const lung = join(root, 'rp_lung_msk', name);
    const files = hasLungDir && (await isFile(lung)) ? { image: join(imDir, name), lesion, lung } : { image: join(imDir, name), lesion };
    if (hasLungDir && !files.lung) notes.push(`rp_lung_msk/${name} missing: case ${id} has no dataset lung mask`);
    cases.push({ source: 'medseg9', originalId: id, kind: 'volume', patientGroup: `medseg9:${id}`, files });
  }
  return { source: 'medseg9', root, cases, notes };
}

export const medseg9: DatasetAdapter = {
  source: 'medseg9',
  kind: 'volume',
  layout: LAYOUT,
  scan: scanMedseg9,
  load: (ref) => loadCaseFiles(ref, { lesionLabels: 'ggo-consolidation' }),
};
