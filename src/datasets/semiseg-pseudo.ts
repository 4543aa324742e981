/**
 * `semiseg-pseudo`: COVID-SemiSeg's unlabelled `Pseudo-label/Imgs` renderings (Inf-Net's
 * 8-bit lung-window crops of the 20 Zenodo 3757476 volumes) that `covseg pair-renderings`
 * matched to a zenodo-slices slice, with that slice's expert lesion and lung masks carried
 * onto the rendering's grid. The root is the folder holding `rendering-pairs.json`; the
 * images and masks are read where the pairing found them. Each case's patientGroup is its
 * zenodo-slices slice's, so a patient's two renderings share a split.
 */
import { join } from 'node:path';
import { readFile } from 'node:fs/promises';
import { createVolume, type Volume } from '../volume/volume.js';
import { CovsegError } from '../util/errors.js';
import { isFile, naturalCompare, requireRoot } from './files.js';
import { loadCaseFiles, readCaseFile } from './load-case.js';
import { PAIRS_FILE, PAIRS_FORMAT, pairPatientGroup, placeOnRendering, type RenderingPairsFile } from './rendering-pairs.js';
import type { CaseRef, DatasetAdapter, SourceScan } from './types.js';

const LAYOUT = `a folder with ${PAIRS_FILE}, written by covseg pair-renderings`;

export async function readRenderingPairs(root: string): Promise<RenderingPairsFile> {
  const file = join(root, PAIRS_FILE);
  if (!(await isFile(file))) throw new CovsegError(`no ${PAIRS_FILE}; make it with covseg pair-renderings --out ${root}`, { file: root });
  let json: RenderingPairsFile;
  try {
    json = JSON.parse(await readFile(file, 'utf8')) as RenderingPairsFile;
  } catch (err) {
    throw new CovsegError(`not JSON (${(err as Error).message}); make it again with covseg pair-renderings`, { file, cause: err });
  }
  if (json?.format !== PAIRS_FORMAT || !Array.isArray(json.pairs)) throw new CovsegError(`not a ${PAIRS_FORMAT} file; make it with covseg pair-renderings`, { file });
  return json;
}

export async function scanSemisegPseudo(root: string): Promise<SourceScan> {
  await requireRoot(root, 'semiseg-pseudo', LAYOUT);
  const pairs = await readRenderingPairs(root);
  const cases: CaseRef[] = pairs.pairs.map((p) => ({
    source: 'semiseg-pseudo',
    originalId: p.image.replace(/\.jpe?g$/i, ''),
    kind: 'slice',
    patientGroup: pairPatientGroup(p),
    files: {
      image: join(pairs.renderingsDir, p.image),
      lesion: join(pairs.zenodoSlicesRoot, 'covid', `${p.reference}.png`),
      lung: join(pairs.zenodoSlicesRoot, 'lungs', `${p.reference}.png`),
    },
    placement: p.placement,
  }));
  cases.sort((a, b) => naturalCompare(a.originalId, b.originalId));
  const groups = new Set(cases.map((c) => c.patientGroup)).size;
  const notes = [
    `${cases.length} of ${cases.length + pairs.unpaired.length} Inf-Net renderings paired with a zenodo-slices slice (correlation ≥ ${pairs.minCorrelation}, lung Dice ≥ ${pairs.minLungDice}), ${groups} patient groups; masks carried over from zenodo-slices`,
  ];
  return { source: 'semiseg-pseudo', root, cases, notes };
}

export const semisegPseudo: DatasetAdapter = {
  source: 'semiseg-pseudo',
  kind: 'slice',
  layout: LAYOUT,
  scan: scanSemisegPseudo,
  load: async (ref) => {
    const placement = ref.placement;
    if (!placement) throw new CovsegError('semiseg-pseudo case without a placement; scan the source again', { file: ref.files.image });
    const image = await readCaseFile(ref.files.image, 'CT image');
    const [width, height] = image.dims;
    // The masks live on the zenodo-slices grid: carried onto the rendering's, 0/255 as published.
    const onRendering = async (path: string, role: string): Promise<Volume> => {
      if (path === ref.files.image) return image;
      const mask = await readCaseFile(path, role);
      const placed = placeOnRendering({ width: mask.dims[0], height: mask.dims[1], data: Float32Array.from(mask.data) }, 255, placement, width, height);
      for (let i = 0; i < placed.length; i++) placed[i] = placed[i]! * 255;
      return createVolume(placed, image.dims, image);
    };
    return loadCaseFiles(
      ref,
      { lesionLabels: 'grey-0-255', lungEncoding: 'grey-0-255', knownNotHu: "8-bit JPEG slice (Inf-Net's lung-window rendering): not Hounsfield units" },
      onRendering,
    );
  },
};
