/** The method's preprocessing constants (method report, "Report", steps 1–3). */
import type { Vec3 } from '../volume/volume.js';

/** Voxel size of the 3D database: 0.9 × 0.9 × 4.5 mm (x, y, z). */
export const TARGET_SPACING_MM: Vec3 = [0.9, 0.9, 4.5];
/** Grid of the 3D database: 320 × 320 × 80 voxels (x, y, z), i.e. 288 × 288 × 360 mm. */
export const TARGET_DIMS: Vec3 = [320, 320, 80];
/** Side of the 2D database's square slices, the 2D U-Net's input size. */
export const SLICE_SIZE = 320;
/** Intensity normalisation: clip to these percentiles of the CT, then scale to [0, 1]. */
export const LOW_PERCENTILE = 1;
export const HIGH_PERCENTILE = 99;
/** Air in Hounsfield units: what CT in HU is padded with (below the lowest tissue). */
export const AIR_HU = -1024;
