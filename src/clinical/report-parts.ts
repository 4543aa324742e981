/**
 * What `covseg segment` adds to its report from this stage, in one call: the figures (the
 * report's `clinical` block) and their two pictures, the distribution at a glance and the
 * lesion in its two classes at the middle of each third of the lungs.
 */
import { figureToPng } from '../figures/index.js';
import { matchedLevelsPicture } from './compare-pictures.js';
import { clinicalFigures, type ClinicalFigures, type ClinicalInput } from './measure.js';
import { distributionPicture, sliceSource } from './pictures.js';

export interface ClinicalPicture {
  /** File name in the result folder. */
  name: string;
  png: Uint8Array;
  caption: string;
}

export function clinicalReportParts(input: ClinicalInput): { figures: ClinicalFigures; pictures: ClinicalPicture[] } {
  const figures = clinicalFigures(input);
  return { figures, pictures: clinicalPictures(input, figures) };
}

/** The clinical section's pictures for `figures` (from `clinicalFigures(input)`): the distribution, and the lesion types at matched levels. */
export function clinicalPictures(input: ClinicalInput, figures: ClinicalFigures): ClinicalPicture[] {
  const density = figures.density.available;
  const src = sliceSource(input.ct, input.lungs, input.lesions, input.isHu, density ? figures.density.bands.infiltratedBelow : undefined);
  return [
    { name: 'distribution.png', png: figureToPng(distributionPicture(figures)), caption: 'where the disease is: % of each third, half and depth of each lung affected' },
    {
      name: 'lesion-types.png',
      png: figureToPng(matchedLevelsPicture([src], [''])),
      caption: density ? 'the middle of each third of the lungs: ground glass yellow, consolidation purple' : 'the middle of each third of the lungs: lesion orange (no HU: the two types are not told apart)',
    },
  ];
}
