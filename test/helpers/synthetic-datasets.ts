/**
 * Synthetic copies of the public datasets that are too large for these machines
 * (MosMedData, MedSeg, Zenodo 3757476), written in exactly their published layouts:
 * folder and file names, label values, data types and geometry. Tests use tiny grids;
 * the benchmark uses the real 512×512 sizes.
 *
 * What was found about the real files, and where (what was not found is a stated choice):
 * - MosMed masks: read from the 50 real masks in ../shared/data/mosmed-masks (see
 *   MOSMED_GEOMETRY): int16, 512×512×~40, 0.6–0.92 mm × 8 mm, qform/sform code 1, RAS
 *   srow diag(−sx, +sy, +8) → in LPS: x axis → +L, y axis → −P (anterior), z → +S. The CT
 *   studies share their mask's header; int16 HU (Kaggle/mosmed.ai loaders read them as such).
 * - MedSeg 100 slices: tr_im 512×512×100 (shape printed in public loaders, e.g. eisen's
 *   MedSegCovid19 and TensorFlow loaders on GitHub); masks 1 GGO / 2 consolidation / 3 pleural
 *   effusion (method report; medicalsegmentation.com); tr_lungmasks_updated has two lung
 *   labels 1 and 2 (a public loader maps lobe_raw==1 and ==2 separately). The images were
 *   JPEGs converted back to HU by the MedSeg radiologists (H. B. Jenssen's write-up on
 *   medium.com), so values are not integral: written here as float32. Mask dtype and pixel
 *   size are not published anywhere we could find: uint8 masks, 1×1 mm pixels here.
 * - MedSeg 9 volumes: 630×630×Z (amid's Medseg9 docstring: first volume (630, 630, 45);
 *   method report "630x630xZ"); rp_msk labels 0/1/2(/3) (amid: "0 normal, 1 GGO,
 *   2 consolidation"); rp_lung_msk one label (amid reads it as bool). Stored as float
 *   (amid casts get_fdata() to int16 "to improve compression"): float32 with integral HU here.
 *   Spacing not found: 0.55×0.55×5 mm here.
 * - Zenodo 3757476: names coronacases_org_0NN.nii.gz / radiopaedia_org_covid-19-pneumonia-
 *   <case>_<study>_<series>-dcm.nii.gz, masks coronacases_0NN / radiopaedia_<case>_<study>_<series>
 *   (PaddleSeg and Kaggle notebooks list them); coronacases 512×512×Z (coronacases_001:
 *   512×512×301, printed by a public notebook), in HU: int16 here; Radiopaedia scans 630×630×Z
 *   windowed to 0–255 (../shared/data README): uint8 here. Kaggle copy: uncompressed .nii, folders
 *   ct_scans/ infection_mask/ lung_mask/ lung_and_infection_mask/, metadata.csv with
 *   '../input/covid19-ct-scans/…' paths; its infection masks "have decimals" (the method's own
 *   loader thresholds them at 0.01): float64 with values 0.99997 here. Lung masks: two labels,
 *   the left/right numbering is not consistently documented: 1 = left, 2 = right here, which
 *   the position-based side detection must undo. Spacing not found: 0.7×0.7×1 mm (coronacases),
 *   0.6×0.6×5 mm (Radiopaedia) here.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeVolume } from '../../src/io/index.js';
import { createVolume, type Mat3, type Vec3, type VolumeGeometry, type VoxelArray } from '../../src/volume/volume.js';

/** Geometry of the real MosMed mask study_0255_mask.nii.gz, in LPS (read from its header). */
export const MOSMED_GEOMETRY: Omit<VolumeGeometry, 'dims'> & { dims: Vec3 } = {
  dims: [512, 512, 38],
  spacingMm: [0.923, 0.923, 8],
  origin: [-222.194, 235.7865, -961.7],
  direction: [1, 0, 0, 0, -1, 0, 0, 0, 1],
};

/** Phantom intensities in HU. */
export const PHANTOM_HU = { air: -1000, body: 40, lung: -850, ggo: -450, consolidation: 30, effusion: 15 } as const;
/** Phantom labels in the MedSeg convention. */
export const GGO = 1;
export const CONSOLIDATION = 2;
export const EFFUSION = 3;

export interface Phantom {
  /** HU values. */
  hu: Float32Array;
  /** 0 background, 1 GGO, 2 consolidation, 3 pleural effusion. */
  lesionLabels: Uint8Array;
  /** 0 outside, 1 right lung, 2 left lung (consolidation is NOT in the lung mask, as often in real masks). */
  lungSides: Uint8Array;
  /** Voxel counts per label, counted while drawing. */
  counts: { ggo: number; consolidation: number; effusion: number; rightLung: number; leftLung: number };
}

/**
 * A chest phantom drawn in world coordinates, so anatomy is right whatever the grid's
 * orientation: body ellipse, right lung at the patient's right (LPS −x), left lung, a
 * ground-glass blob in the right lung, consolidation in the left lung, pleural effusion
 * behind the right lung (outside it). Coordinates are normalised to the grid's world
 * bounding box.
 */
export function chestPhantom(geometry: VolumeGeometry): Phantom {
  const [nx, ny, nz] = geometry.dims;
  const n = nx * ny * nz;
  const d = geometry.direction;
  const s = geometry.spacingMm;
  const col = (j: number): Vec3 => [d[j]! * s[j]!, d[3 + j]! * s[j]!, d[6 + j]! * s[j]!];
  const [c0, c1, c2] = [col(0), col(1), col(2)];
  const lo: Vec3 = [Infinity, Infinity, Infinity];
  const hi: Vec3 = [-Infinity, -Infinity, -Infinity];
  for (const i of [0, nx - 1]) for (const j of [0, ny - 1]) for (const k of [0, nz - 1]) {
    for (let a = 0; a < 3; a++) {
      const w = geometry.origin[a]! + i * c0[a]! + j * c1[a]! + k * c2[a]!;
      lo[a] = Math.min(lo[a]!, w);
      hi[a] = Math.max(hi[a]!, w);
    }
  }
  const centre = lo.map((l, a) => (l + hi[a]!) / 2);
  const half = lo.map((l, a) => Math.max((hi[a]! - l) / 2, 1e-6));
  const hu = new Float32Array(n);
  const lesionLabels = new Uint8Array(n);
  const lungSides = new Uint8Array(n);
  const counts = { ggo: 0, consolidation: 0, effusion: 0, rightLung: 0, leftLung: 0 };
  const inside = (u: number[], cx: number, cy: number, cz: number, rx: number, ry: number, rz: number) =>
    ((u[0]! - cx) / rx) ** 2 + ((u[1]! - cy) / ry) ** 2 + ((u[2]! - cz) / rz) ** 2 <= 1;
  let idx = 0;
  const u = [0, 0, 0];
  for (let k = 0; k < nz; k++) {
    for (let j = 0; j < ny; j++) {
      for (let i = 0; i < nx; i++, idx++) {
        for (let a = 0; a < 3; a++) u[a] = (geometry.origin[a]! + i * c0[a]! + j * c1[a]! + k * c2[a]! - centre[a]!) / half[a]!;
        let v: number = PHANTOM_HU.air;
        if ((u[0]! / 0.85) ** 2 + (u[1]! / 0.7) ** 2 <= 1) v = PHANTOM_HU.body;
        const right = inside(u, -0.4, 0, 0, 0.28, 0.5, 0.8);
        const left = inside(u, 0.4, 0, 0, 0.28, 0.5, 0.8);
        if (right || left) v = PHANTOM_HU.lung;
        let label = 0;
        if (right && inside(u, -0.4, -0.1, 0, 0.14, 0.22, 0.4)) {
          label = GGO;
          v = PHANTOM_HU.ggo;
        } else if (left && inside(u, 0.42, 0.1, 0.1, 0.12, 0.2, 0.35)) {
          label = CONSOLIDATION;
          v = PHANTOM_HU.consolidation;
        } else if (!right && inside(u, -0.4, 0.58, 0, 0.22, 0.09, 0.6)) {
          label = EFFUSION;
          v = PHANTOM_HU.effusion;
        }
        hu[idx] = v;
        lesionLabels[idx] = label;
        if (label === GGO) counts.ggo++;
        else if (label === CONSOLIDATION) counts.consolidation++;
        else if (label === EFFUSION) counts.effusion++;
        if (label !== CONSOLIDATION) {
          if (right) {
            lungSides[idx] = 1;
            counts.rightLung++;
          } else if (left) {
            lungSides[idx] = 2;
            counts.leftLung++;
          }
        }
      }
    }
  }
  return { hu, lesionLabels, lungSides, counts };
}

type Dtype = 'int16' | 'uint8' | 'float32' | 'float64';

/** `values` converted to `dtype` (rounded and clamped for integers). Plain loops: TypedArray.from with a map function is ~15× slower on 78M voxels. */
function typed(values: ArrayLike<number>, dtype: Dtype): VoxelArray {
  const n = values.length;
  switch (dtype) {
    case 'int16': {
      const out = new Int16Array(n);
      for (let i = 0; i < n; i++) out[i] = Math.round(values[i]!);
      return out;
    }
    case 'uint8': {
      const out = new Uint8Array(n);
      for (let i = 0; i < n; i++) out[i] = Math.max(0, Math.min(255, Math.round(values[i]!)));
      return out;
    }
    case 'float32': {
      const out = new Float32Array(n);
      for (let i = 0; i < n; i++) out[i] = values[i]!;
      return out;
    }
    case 'float64': {
      const out = new Float64Array(n);
      for (let i = 0; i < n; i++) out[i] = values[i]!;
      return out;
    }
  }
}

/** Writes `values` as a NIfTI (.nii or .nii.gz by extension) of `dtype` on `geometry`. */
export async function writeNifti(path: string, values: ArrayLike<number>, dtype: Dtype, geometry: VolumeGeometry): Promise<void> {
  await writeVolume(path, createVolume(typed(values, dtype), geometry.dims, geometry));
}

/** Maps label values through `table` (missing → 0). */
export function relabel(labels: Uint8Array, table: Record<number, number>): Uint8Array {
  const lut = new Uint8Array(256);
  for (const [from, to] of Object.entries(table)) lut[Number(from)] = to;
  const out = new Uint8Array(labels.length);
  for (let i = 0; i < labels.length; i++) out[i] = lut[labels[i]!]!;
  return out;
}

/** Lesion = GGO ∪ consolidation, the harmonised answer. */
export function expectedLesion(p: Phantom): number {
  return p.counts.ggo + p.counts.consolidation;
}

/**
 * A copy of `hu` with deterministic noise of standard deviation `sigma` (sum of 4 uniforms
 * from a fixed LCG): real CT is noisy, and gzip and percentiles behave differently on it.
 */
export function addNoise(hu: Float32Array, sigma: number): Float32Array {
  let state = 12345;
  const uniform = () => ((state = (Math.imul(state, 1664525) + 1013904223) >>> 0) / 4294967296);
  const scale = sigma * Math.sqrt(3); // the sum of 4 uniforms on [−0.5, 0.5] has variance 1/3
  const out = new Float32Array(hu.length);
  for (let i = 0; i < hu.length; i++) out[i] = hu[i]! + (uniform() + uniform() + uniform() + uniform() - 2) * scale;
  return out;
}

/** HU → 0–255 windowed to [−1000, 400], as the Radiopaedia exports. */
export function windowTo255(hu: Float32Array): Float32Array {
  const out = new Float32Array(hu.length);
  for (let i = 0; i < hu.length; i++) out[i] = Math.max(0, Math.min(255, Math.round(((hu[i]! + 1000) / 1400) * 255)));
  return out;
}

// ---------------------------------------------------------------- MosMed

export interface MosmedStudy {
  /** e.g. 'study_0255'. */
  id: string;
  /** Severity folder, e.g. 'CT-1'. Defaults to 'CT-1'. */
  folder?: string;
  /** Write a mask for it. Defaults to true. */
  masked?: boolean;
  /** Write the CT study. Defaults to true. */
  withStudy?: boolean;
}

/**
 * `studies/CT-k/study_NNNN.nii.gz` (int16 HU) and `masks/study_NNNN_mask.nii.gz`
 * (int16 {0,1} = GGO ∪ consolidation), on MosMed's real header geometry with `dims`.
 */
export async function writeMosmedLayout(root: string, studies: MosmedStudy[], dims: Vec3 = [32, 32, 6]): Promise<Map<string, Phantom>> {
  const geometry = { ...MOSMED_GEOMETRY, dims };
  const phantom = chestPhantom(geometry);
  const out = new Map<string, Phantom>();
  for (const s of studies) {
    if (s.withStudy ?? true) {
      const dir = join(root, 'studies', s.folder ?? 'CT-1');
      await mkdir(dir, { recursive: true });
      await writeNifti(join(dir, `${s.id}.nii.gz`), phantom.hu, 'int16', geometry);
    }
    if (s.masked ?? true) {
      await mkdir(join(root, 'masks'), { recursive: true });
      await writeNifti(join(root, 'masks', `${s.id}_mask.nii.gz`), relabel(phantom.lesionLabels, { [GGO]: 1, [CONSOLIDATION]: 1 }), 'int16', geometry);
    }
    out.set(s.id, phantom);
  }
  return out;
}

// ---------------------------------------------------------------- MedSeg

/** The MedSeg 100-slice files with `slices` slices of `size`×`size` (real: 512, 100). */
export async function writeMedseg100Layout(root: string, options: { size?: number; slices?: number; lungMasks?: boolean } = {}): Promise<Phantom> {
  const size = options.size ?? 24;
  const geometry: VolumeGeometry = { dims: [size, size, options.slices ?? 4], spacingMm: [1, 1, 1], origin: [0, 0, 0], direction: [1, 0, 0, 0, 1, 0, 0, 0, 1] };
  const p = chestPhantom(geometry);
  await mkdir(root, { recursive: true });
  // Non-integral HU, as the JPEG→HU conversion produced.
  await writeNifti(join(root, 'tr_im.nii.gz'), p.hu.map((v) => v + 0.25), 'float32', geometry);
  await writeNifti(join(root, 'tr_mask.nii.gz'), p.lesionLabels, 'uint8', geometry);
  if (options.lungMasks ?? true) await writeNifti(join(root, 'tr_lungmasks_updated.nii.gz'), p.lungSides, 'uint8', geometry);
  return p;
}

export const MEDSEG9_GEOMETRY = (dims: Vec3): VolumeGeometry => ({ dims, spacingMm: [0.55, 0.55, 5], origin: [-173, -173, -100], direction: [1, 0, 0, 0, 1, 0, 0, 0, 1] });

/** `rp_im/N.nii.gz`, `rp_msk/N.nii.gz`, `rp_lung_msk/N.nii.gz` for each id (real: 630×630×Z, ids 1…9). */
export async function writeMedseg9Layout(root: string, ids: number[], dims: Vec3 = [30, 30, 8]): Promise<Phantom> {
  const geometry = MEDSEG9_GEOMETRY(dims);
  const p = chestPhantom(geometry);
  for (const dir of ['rp_im', 'rp_msk', 'rp_lung_msk']) await mkdir(join(root, dir), { recursive: true });
  for (const id of ids) {
    await writeNifti(join(root, 'rp_im', `${id}.nii.gz`), p.hu, 'float32', geometry);
    await writeNifti(join(root, 'rp_msk', `${id}.nii.gz`), p.lesionLabels, 'float32', geometry);
    await writeNifti(join(root, 'rp_lung_msk', `${id}.nii.gz`), p.lungSides.map((v) => (v ? 1 : 0)), 'float32', geometry);
  }
  return p;
}

// ---------------------------------------------------------------- Zenodo 3757476

/** The 20 published scan names (image stems). */
export const ZENODO_IMAGE_STEMS = [
  ...Array.from({ length: 10 }, (_, i) => `coronacases_org_${String(i + 1).padStart(3, '0')}`),
  'radiopaedia_org_covid-19-pneumonia-4_85506_1-dcm',
  'radiopaedia_org_covid-19-pneumonia-7_85703_0-dcm',
  'radiopaedia_org_covid-19-pneumonia-10_85902_1-dcm',
  'radiopaedia_org_covid-19-pneumonia-10_85902_3-dcm',
  'radiopaedia_org_covid-19-pneumonia-14_85914_0-dcm',
  'radiopaedia_org_covid-19-pneumonia-27_86410_0-dcm',
  'radiopaedia_org_covid-19-pneumonia-29_86490_1-dcm',
  'radiopaedia_org_covid-19-pneumonia-29_86491_1-dcm',
  'radiopaedia_org_covid-19-pneumonia-36_86526_0-dcm',
  'radiopaedia_org_covid-19-pneumonia-40_86625_0-dcm',
];

export function zenodoMaskStem(imageStem: string): string {
  return imageStem.replace(/^coronacases_org_/, 'coronacases_').replace(/^radiopaedia_org_covid-19-pneumonia-(.*)-dcm$/, 'radiopaedia_$1');
}

export interface ZenodoPhantoms {
  coronacases: Phantom;
  radiopaedia: Phantom;
}

/**
 * Zenodo (`layout: 'zenodo'`, .nii.gz) or its Kaggle copy (`'kaggle'`, .nii + metadata.csv).
 * Coronacases: int16 HU; Radiopaedia: uint8 0–255. Lung_Mask: 1 left, 2 right.
 * Lung_and_Infection_Mask: 1 left, 2 right, 3 infection.
 */
export async function writeZenodoLayout(
  root: string,
  options: { layout?: 'zenodo' | 'kaggle'; stems?: string[]; coronaDims?: Vec3; radiopaediaDims?: Vec3; lungMasks?: boolean; noiseHu?: number } = {},
): Promise<ZenodoPhantoms> {
  const layout = options.layout ?? 'zenodo';
  const names = layout === 'zenodo'
    ? { images: 'COVID-19-CT-Seg_20cases', infection: 'Infection_Mask', lung: 'Lung_Mask', combined: 'Lung_and_Infection_Mask', ext: '.nii.gz' }
    : { images: 'ct_scans', infection: 'infection_mask', lung: 'lung_mask', combined: 'lung_and_infection_mask', ext: '.nii' };
  const corona: VolumeGeometry = { dims: options.coronaDims ?? [28, 28, 10], spacingMm: [0.7, 0.7, 1], origin: [-180, -180, -300], direction: [1, 0, 0, 0, 1, 0, 0, 0, 1] };
  const rp: VolumeGeometry = { dims: options.radiopaediaDims ?? [30, 30, 6], spacingMm: [0.6, 0.6, 5], origin: [-190, -190, -150], direction: [1, 0, 0, 0, 1, 0, 0, 0, 1] as Mat3 };
  const phantoms = { coronacases: chestPhantom(corona), radiopaedia: chestPhantom(rp) };
  for (const dir of [names.images, names.infection, names.lung, names.combined]) await mkdir(join(root, dir), { recursive: true });
  const rows = ['ct_scan,lung_mask,infection_mask,lung_and_infection_mask'];
  for (const stem of options.stems ?? ZENODO_IMAGE_STEMS) {
    const isCorona = stem.startsWith('coronacases');
    const g = isCorona ? corona : rp;
    const p = isCorona ? phantoms.coronacases : phantoms.radiopaedia;
    const mask = zenodoMaskStem(stem);
    const hu = options.noiseHu ? addNoise(p.hu, options.noiseHu) : p.hu;
    await writeNifti(join(root, names.images, stem + names.ext), isCorona ? hu : windowTo255(hu), isCorona ? 'int16' : 'uint8', g);
    const infection = relabel(p.lesionLabels, { [GGO]: 1, [CONSOLIDATION]: 1 });
    if (layout === 'kaggle') await writeNifti(join(root, names.infection, mask + names.ext), Float64Array.from(infection, (v) => v * 0.99997), 'float64', g);
    else await writeNifti(join(root, names.infection, mask + names.ext), infection, 'uint8', g);
    const lungLeftRight = relabel(p.lungSides, { 1: 2, 2: 1 });
    if (options.lungMasks ?? true) await writeNifti(join(root, names.lung, mask + names.ext), lungLeftRight, 'uint8', g);
    const combined = lungLeftRight.slice();
    for (let i = 0; i < combined.length; i++) if (infection[i]) combined[i] = 3;
    await writeNifti(join(root, names.combined, mask + names.ext), combined, 'uint8', g);
    const kagglePath = (dir: string) => `../input/covid19-ct-scans/${dir}/${dir === names.images ? stem : mask}${names.ext}`;
    rows.push([kagglePath(names.images), kagglePath(names.lung), kagglePath(names.infection), kagglePath(names.combined)].join(','));
  }
  if (layout === 'kaggle') await writeFile(join(root, 'metadata.csv'), rows.join('\n') + '\n');
  return phantoms;
}
