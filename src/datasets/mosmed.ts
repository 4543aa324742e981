/**
 * MosMedData COVID19_1110 (mosmed.ai, CC BY-NC-ND 3.0), as published:
 * `studies/CT-0 … CT-4/study_NNNN.nii.gz` (1,110 chest CTs by severity class) and
 * `masks/study_NNNN_mask.nii.gz` (50 studies, int16, label 1 = GGO ∪ consolidation).
 * Only masked studies are lesion cases; no lung masks (a lung segmenter fills them in).
 * Studies are `.nii.gz` in the original release and `.nii` in some mirrors: both are read.
 */
import { join } from 'node:path';
import { readdir } from 'node:fs/promises';
import { isDirectory, listFiles, naturalCompare, requireRoot } from './files.js';
import { loadCaseFiles } from './load-case.js';
import type { CaseRef, DatasetAdapter, SourceScan } from './types.js';
import { CovsegError } from '../util/errors.js';

const LAYOUT = 'studies/CT-0…CT-4/study_NNNN.nii.gz and masks/study_NNNN_mask.nii.gz';
const STUDY = /^(study_\d+)\.nii(\.gz)?$/;
const MASK = /^(study_\d+)_mask\.nii(\.gz)?$/;

/** Finds the 50 masked MosMed studies; counts the studies without a mask. */
export async function scanMosmed(root: string): Promise<SourceScan> {
  await requireRoot(root, 'mosmed', LAYOUT);
  const masksDir = join(root, 'masks');
  if (!(await isDirectory(masksDir))) {
    throw new CovsegError(`no masks/ folder; MosMed's lesion masks are expected as ${LAYOUT}`, { file: root });
  }
  const studies = new Map<string, string>();
  const studiesDir = join(root, 'studies');
  if (await isDirectory(studiesDir)) {
    const classes = (await readdir(studiesDir, { withFileTypes: true })).filter((e) => e.isDirectory() && /^CT-\d$/.test(e.name)).map((e) => e.name).sort();
    for (const cls of classes) {
      for (const name of await listFiles(join(studiesDir, cls), STUDY)) studies.set(name.match(STUDY)![1]!, join(studiesDir, cls, name));
    }
  }
  const cases: CaseRef[] = [];
  const masked = new Set<string>();
  for (const name of await listFiles(masksDir, MASK)) {
    const id = name.match(MASK)![1]!;
    if (masked.has(id)) continue;
    masked.add(id);
    cases.push({
      source: 'mosmed',
      originalId: id,
      kind: 'volume',
      patientGroup: `mosmed:${id}`,
      // The masked studies are all in CT-1 in the published archive; a missing study fails this case only.
      files: { image: studies.get(id) ?? join(studiesDir, 'CT-1', `${id}.nii.gz`), lesion: join(masksDir, name) },
    });
  }
  cases.sort((a, b) => naturalCompare(a.originalId, b.originalId));
  const unmasked = [...studies.keys()].filter((id) => !masked.has(id)).length;
  const notes = [`${studies.size} studies seen, ${cases.length} with a lesion mask; ${unmasked} studies without a mask are not lesion cases and were left out`];
  if (studies.size === 0) notes.push(`no studies/CT-*/study_NNNN.nii.gz found under ${root}: every masked case will fail with a missing CT image`);
  return { source: 'mosmed', root, cases, notes };
}

export const mosmed: DatasetAdapter = {
  source: 'mosmed',
  kind: 'volume',
  layout: LAYOUT,
  scan: scanMosmed,
  load: (ref) => loadCaseFiles(ref, { lesionLabels: 'nonzero' }),
};
