/**
 * COVID-SemiSeg training half (Fan et al., Inf-Net; MedSeg data, research use):
 * `TrainingSet/MultiClassInfection-Train/Imgs/N.jpg` (8-bit CT crops, sizes vary),
 * `…/MultiClassInfection-Train/GT/N.png` (palette: 0 background, 1 ground-glass,
 * 2 consolidation; pleural effusion removed) and the binary
 * `TrainingSet/LungInfection-Train/Doctor-label/{Imgs,GT}/N.*` (GT 0/255; the same slices,
 * GT = multi-class 1 ∪ 2, checked on all 50). No lung masks, no patient ids.
 */
import { join } from 'node:path';
import { CovsegError } from '../util/errors.js';
import { isDirectory, isFile, listFiles, naturalCompare, requireRoot } from './files.js';
import { loadCaseFiles } from './load-case.js';
import type { CaseRef, DatasetAdapter, SourceScan } from './types.js';

const LAYOUT = 'TrainingSet/MultiClassInfection-Train/{Imgs/N.jpg, GT/N.png} or TrainingSet/LungInfection-Train/Doctor-label/{Imgs, GT}';
const IMAGE = /^(.+)\.jpe?g$/i;
const MULTI = 'MultiClassInfection-Train';
const BINARY = join('LungInfection-Train', 'Doctor-label');

export async function scanSemiseg(root: string): Promise<SourceScan> {
  await requireRoot(root, 'semiseg', LAYOUT);
  // Accept the repository's top folder or TrainingSet/ itself.
  const base = (await isDirectory(join(root, 'TrainingSet'))) ? join(root, 'TrainingSet') : root;
  const multi = (await isDirectory(join(base, MULTI, 'Imgs'))) ? join(base, MULTI) : undefined;
  const binary = (await isDirectory(join(base, BINARY, 'Imgs'))) ? join(base, BINARY) : undefined;
  const imagesDir = multi ?? binary;
  if (!imagesDir) throw new CovsegError(`no ${MULTI}/Imgs or ${BINARY}/Imgs folder; COVID-SemiSeg is expected as ${LAYOUT}`, { file: root });
  const cases: CaseRef[] = [];
  let binaryOnly = 0;
  for (const name of await listFiles(join(imagesDir, 'Imgs'), IMAGE)) {
    const id = name.match(IMAGE)![1]!;
    const multiGt = multi ? join(multi, 'GT', `${id}.png`) : undefined;
    let lesion = multiGt && (await isFile(multiGt)) ? multiGt : undefined;
    if (!lesion && binary) {
      lesion = join(binary, 'GT', `${id}.png`);
      binaryOnly++;
    }
    cases.push({ source: 'semiseg', originalId: id, kind: 'slice', patientGroup: `semiseg:${id}`, files: { image: join(imagesDir, 'Imgs', name), lesion: lesion ?? multiGt! } });
  }
  cases.sort((a, b) => naturalCompare(a.originalId, b.originalId));
  const notes = [
    `${cases.length} slices of ~40 patients without patient ids: each slice is its own patientGroup, so two slices of one patient can sit in two splits`,
    'no lung masks in COVID-SemiSeg',
  ];
  if (binaryOnly > 0) notes.push(`${binaryOnly} slices have only the binary Doctor-label GT (used as lesion)`);
  return { source: 'semiseg', root, cases, notes };
}

export const semiseg: DatasetAdapter = {
  source: 'semiseg',
  kind: 'slice',
  layout: LAYOUT,
  scan: scanSemiseg,
  load: (ref) =>
    loadCaseFiles(ref, {
      lesionLabels: ref.files.lesion.includes(MULTI) ? 'ggo-consolidation' : 'grey-0-255',
      knownNotHu: '8-bit JPEG slice exported for display: not Hounsfield units',
    }),
};
