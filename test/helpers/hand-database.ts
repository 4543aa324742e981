/**
 * A database written by hand (manifest.json + splits.json, no image files): for tests of
 * the loaders and of the case queries, which read only the JSON.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ENCODING_NOTES, MANIFEST_FORMAT, MANIFEST_VERSION, makeSplits, type CaseRecord, type Manifest, type SplitName } from '../../src/database/index.js';
import type { SourceName } from '../../src/datasets/index.js';

const GRID = { dims: [4, 4, 2], spacingMm: [1, 1, 1], origin: [0, 0, 0], direction: [1, 0, 0, 0, 1, 0, 0, 0, 1] } as CaseRecord['original'];

/** A well-formed record of a 3D case (`kind: 'volume'`) or of a 2D-only one (`'slice'`). */
export function handCase(caseId: string, source: SourceName, kind: 'volume' | 'slice', lung = true): CaseRecord {
  const slice = kind === 'volume' ? `${caseId}_z001` : caseId;
  return {
    caseId, kind, source, originalId: caseId.toLowerCase(), patientGroup: `p-${caseId}`,
    inputFiles: { image: `/in/${caseId}.nii.gz`, lesion: `/in/${caseId}-lesion.nii.gz` },
    inputSha256: 'a'.repeat(64), inputFileSha256: { image: 'b'.repeat(64) }, optionsHash: 'c'.repeat(16),
    original: structuredClone(GRID), isHu: true, huReason: 'air near -1000', lungMaskSource: lung ? 'dataset' : 'missing', lungSides: false,
    lesionVoxels: 3, lungVoxels: lung ? 20 : null,
    crop: { sourceGeometry: structuredClone(GRID), offset: [0, 0, 0], outputDims: [4, 4, 2] },
    normalization: { lowValue: -1000, highValue: 200, padValue: 0 },
    ...(kind === 'volume' ? { files3d: { image: `3d/${caseId}/image.nrrd`, lesion: `3d/${caseId}/lesion.nrrd`, ...(lung ? { lung: `3d/${caseId}/lung.nrrd` } : {}) } } : {}),
    slices2d: [{ image: `2d/images/${slice}.png`, lesion: `2d/lesions/${slice}.png`, ...(lung ? { lung: `2d/lungs/${slice}.png` } : {}), z: kind === 'volume' ? 1 : 0 }],
    warnings: [], builtAt: '2026-01-01T00:00:00.000Z', buildMs: 5,
  };
}

export function handManifest(cases: CaseRecord[]): Manifest {
  const sources = [...new Set(cases.map((c) => c.source))];
  return {
    format: MANIFEST_FORMAT, version: MANIFEST_VERSION, covsegVersion: '0.1.0', builtAt: '2026-01-01T00:00:00.000Z',
    options: { spacingMm: [0.9, 0.9, 4.5], dims: [4, 4, 2], lowPercentile: 1, highPercentile: 99, sliceSize: 4, lungModel: null, seed: 42, overlap: 'warn' },
    encoding: ENCODING_NOTES,
    sources: sources.map((name) => ({ name, root: `/in/${name}`, notes: [], found: cases.filter((c) => c.source === name).length })),
    warnings: [],
    cases,
  };
}

/**
 * Writes `manifest` (an object, so a test may break it) and splits into `dir`; `splitOf`
 * puts each case in a subset (default: makeSplits' own choice).
 */
export async function writeHandDatabase(dir: string, manifest: unknown, splitOf?: Record<string, SplitName>): Promise<void> {
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'manifest.json'), JSON.stringify(manifest, null, 1));
  const listed = (manifest as Partial<Manifest>).cases;
  const cases = Array.isArray(listed) ? listed : [];
  const splits = makeSplits(cases.map((c) => ({ caseId: c.caseId, source: c.source, patientGroup: c.patientGroup })));
  if (splitOf) {
    splits.caseSplit = { ...splitOf };
    for (const s of ['train', 'validation', 'test'] as const) splits.cases[s] = cases.map((c) => c.caseId).filter((id) => splitOf[id] === s);
  }
  await writeFile(join(dir, 'splits.json'), JSON.stringify(splits, null, 1));
}
