/**
 * Slices known to contain no lung (e.g. an abdominal CT) as training samples with an
 * empty target: the lung model otherwise only ever sees chest slices and takes
 * gas-filled bowel for lung. The axial slices of each volume are taken in LPS
 * orientation, the way inference sees them.
 */
import { readVolume } from '../io/index.js';
import { reorientToLps } from '../volume/index.js';
import { sliceToModelStage1, type SliceInputTransform } from '../preprocess/model-input.js';
import type { StoredSample } from './stored-samples.js';

export interface NegativeSliceOptions {
  /** Side of the model input. */
  inputSize: number;
  transform: SliceInputTransform;
}

/** Every axial slice of each CT in `paths` (files or DICOM folders), with empty target and a full loss mask. */
export async function loadNegativeSlices(paths: string[], options: NegativeSliceOptions): Promise<StoredSample[]> {
  const samples: StoredSample[] = [];
  const n = options.inputSize * options.inputSize;
  for (const path of paths) {
    const { volume } = reorientToLps(await readVolume(path));
    const [nx, ny, nz] = volume.dims;
    for (let z = 0; z < nz; z++) {
      samples.push({
        id: `negative:${path}:z${z}`,
        caseId: `negative:${path}`,
        image: sliceToModelStage1(volume.data.subarray(z * nx * ny, (z + 1) * nx * ny), nx, ny, options.inputSize, options.transform),
        target: new Uint8Array(n),
        lossMask: new Uint8Array(n).fill(1),
        emphasis: true,
      });
    }
  }
  return samples;
}
