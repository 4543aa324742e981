/** Telling a label map (a mask, a segmentation) from an image by its values. */

/** A label map has at most this many distinct values by default (lungmask's lobes: 6; TotalSegmentator's lung parts: ≤ 16). */
export const MAX_LABEL_VALUES = 16;

/**
 * The distinct values of `data`, ascending, when every one is an integer and there are at
 * most `limit` of them (a label map); undefined otherwise (an image). Stops at the first
 * value that decides it, so an image costs a few voxels, a label map one pass.
 */
export function labelValues(data: ArrayLike<number>, limit = MAX_LABEL_VALUES): number[] | undefined {
  const seen: number[] = [];
  let last = NaN;
  for (let i = 0; i < data.length; i++) {
    const v = data[i]!;
    if (v === last) continue;
    if (!Number.isInteger(v)) return undefined;
    last = v;
    if (seen.includes(v)) continue;
    if (seen.length === limit) return undefined;
    seen.push(v);
  }
  return seen.sort((a, b) => a - b);
}
