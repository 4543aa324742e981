/**
 * Sample sets held in memory: 2D slices (one sample per slice) and 3D volumes (one
 * sample per volume, or random patches of it biased towards lesions).
 */
import type { Rng } from '../util/random.js';
import { augmentAfterTransform, augmentBeforeTransform, paintConsolidation, type AugmentOptions } from './augment.js';
import type { BatchBuffers, SampleSet } from './samples.js';

/** One stored sample: image [0,1], target and loss mask 0/1, all of the set's stored shape. */
export interface StoredSample {
  id: string;
  caseId: string;
  image: Float32Array;
  target: Uint8Array;
  lossMask: Uint8Array;
  /** Drawn more often under 'ends' sampling: a slice near an end of its case, a negative. Defaults to false. */
  emphasis?: boolean;
  /** The share of the sample's lung mask its lesion covers (0–1), where known: 'lesion' sampling draws by it. */
  lesionShare?: number;
}

export interface StoredSetOptions {
  /** Augmentation settings used when the loop asks for augmentation. */
  augment?: AugmentOptions;
  /**
   * 3D only: spatial size [D, H, W] of random training patches; validation samples use
   * the centred patch. Defaults to the stored size (whole volumes).
   */
  patch?: number[];
  /** 3D patches: probability that a patch is centred on a lesion voxel. Defaults to 0.67. */
  lesionBias?: number;
  /**
   * Completes the model-input transform on a stored image (e.g. the equalisation of
   * 'clahe-v2'), after intensity augmentation. Defaults to none (images are stored as inputs).
   */
  finishInput?: (image: Float32Array) => Float32Array;
}

export class StoredSampleSet implements SampleSet {
  readonly spatial: number[];
  readonly length: number;
  readonly ids: string[];
  readonly caseIds: string[];
  readonly emphasised: boolean[];
  readonly lesionShares: number[];
  private readonly lesionVoxels: Int32Array[];

  /** `stored`: shape of every sample as stored, [H, W] or [D, H, W]. */
  constructor(readonly samples: StoredSample[], readonly stored: number[], private readonly options: StoredSetOptions = {}) {
    const n = stored.reduce((a, b) => a * b, 1);
    for (const s of samples) {
      if (s.image.length !== n || s.target.length !== n || s.lossMask.length !== n) {
        throw new Error(`sample ${s.id}: arrays do not match the stored shape [${stored.join(', ')}]`);
      }
    }
    this.spatial = options.patch ?? stored;
    if (this.spatial.length !== stored.length || this.spatial.some((p, i) => p > stored[i]!)) {
      throw new Error(`patch [${this.spatial}] must have ${stored.length} dims no larger than the stored shape [${stored}]`);
    }
    this.length = samples.length;
    this.ids = samples.map((s) => s.id);
    this.caseIds = samples.map((s) => s.caseId);
    this.emphasised = samples.map((s) => s.emphasis ?? false);
    this.lesionShares = samples.map((s) => s.lesionShare ?? 0);
    // Lesion voxel indices, for lesion-centred patches (only needed when patching).
    const patching = this.spatial.some((p, i) => p < stored[i]!);
    this.lesionVoxels = samples.map((s) => (patching ? Int32Array.from(indicesOf(s.target)) : new Int32Array(0)));
  }

  /** A new set with `extra` samples appended (same stored shape and options). */
  concat(extra: StoredSample[]): StoredSampleSet {
    return new StoredSampleSet([...this.samples, ...extra], this.stored, this.options);
  }

  fill(index: number, out: BatchBuffers, slot: number, rng?: Rng): void {
    const s = this.samples[index]!;
    const n = this.spatial.reduce((a, b) => a * b, 1);
    const image = out.image.subarray(slot * n, (slot + 1) * n);
    const target = out.target.subarray(slot * n, (slot + 1) * n);
    const lossMask = out.lossMask.subarray(slot * n, (slot + 1) * n);
    const start = this.patchStart(index, rng);
    copyBox(s.image, this.stored, start, this.spatial, image);
    copyBox(s.target, this.stored, start, this.spatial, target);
    copyBox(s.lossMask, this.stored, start, this.spatial, lossMask);
    const consolidation = this.options.augment?.consolidationProbability ?? 0;
    if (rng && consolidation > 0 && this.spatial.length === 2) paintConsolidation(image, target, this.spatial[1]!, this.spatial[0]!, rng, consolidation);
    if (rng) augmentBeforeTransform(image, rng, this.options.augment);
    if (this.options.finishInput) image.set(this.options.finishInput(image));
    if (rng) augmentAfterTransform(image, [target, lossMask], this.spatial, rng, this.options.augment);
  }

  /** Corner of the patch in stored coordinates (same axis order as `stored`). */
  private patchStart(index: number, rng?: Rng): number[] {
    const st = this.stored, p = this.spatial;
    if (p.every((v, i) => v === st[i])) return p.map(() => 0);
    const centred = p.map((v, i) => Math.floor((st[i]! - v) / 2));
    if (!rng) return centred;
    const lesions = this.lesionVoxels[index]!;
    if (lesions.length > 0 && rng.next() < (this.options.lesionBias ?? 0.67)) {
      // Unravel a random lesion voxel (x fastest ⇒ last axis fastest) and centre the patch on it.
      let v = lesions[rng.int(lesions.length)]!;
      const pos = new Array<number>(st.length);
      for (let i = st.length - 1; i >= 0; i--) {
        pos[i] = v % st[i]!;
        v = Math.floor(v / st[i]!);
      }
      return p.map((size, i) => clamp(pos[i]! - Math.floor(size / 2), 0, st[i]! - size));
    }
    return p.map((size, i) => rng.int(st[i]! - size + 1));
  }
}

function clamp(v: number, lo: number, hi: number): number {
  return Math.min(hi, Math.max(lo, v));
}

function indicesOf(mask: Uint8Array): number[] {
  const out: number[] = [];
  for (let i = 0; i < mask.length; i++) if (mask[i]) out.push(i);
  return out;
}

/** Copies the box [start, start+size) of `src` (shape `shape`, last axis fastest) into `dst`. */
function copyBox<T extends Float32Array | Uint8Array>(src: T, shape: number[], start: number[], size: number[], dst: T): void {
  if (size.every((v, i) => v === shape[i])) {
    dst.set(src);
    return;
  }
  const rowLen = size[size.length - 1]!;
  const rows = size.slice(0, -1).reduce((a, b) => a * b, 1);
  const outer = size.slice(0, -1);
  const idx = new Array<number>(outer.length).fill(0);
  for (let r = 0; r < rows; r++) {
    let off = 0;
    for (let a = 0; a < outer.length; a++) off = (off + start[a]! + idx[a]!) * shape[a + 1]!;
    off += start[start.length - 1]!;
    dst.set(src.subarray(off, off + rowLen), r * rowLen);
    for (let a = outer.length - 1; a >= 0; a--) {
      if (++idx[a]! < outer[a]!) break;
      idx[a] = 0;
    }
  }
}
