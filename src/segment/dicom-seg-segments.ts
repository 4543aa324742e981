/**
 * What covseg's lungs and lesions are in a DICOM SEG: SNOMED CT codes (DICOM CID 7150
 * segmentation property categories, CID 7151 types) and the figures' colours, so a PACS
 * or 3D Slicer shows them as the report's pictures do.
 */
import type { Code, SegLayer } from '../io/index.js';
import { LEFT_LUNG, LESION, RIGHT_LUNG } from '../figures/colors.js';
import type { LabelMap } from '../volume/volume.js';

const sct = (value: string, meaning: string): Code => ({ value, scheme: 'SCT', meaning });
const ANATOMICAL_STRUCTURE = sct('123037004', 'Anatomical Structure');
const MORPHOLOGICALLY_ALTERED = sct('49755003', 'Morphologically Altered Structure');

/** Two layers, because lesions lie inside the lungs: lungs (1 right, 2 left) and lesions (1). */
export function lungAndLesionSegments(lungs: LabelMap, lesions: LabelMap, models: { lung: string; lesion: string }): SegLayer[] {
  return [
    {
      labels: lungs,
      segments: [
        { labelId: 1, label: 'Right lung', description: 'Right lung', category: ANATOMICAL_STRUCTURE, type: sct('3341006', 'Right lung'), rgb: RIGHT_LUNG, algorithmName: models.lung },
        { labelId: 2, label: 'Left lung', description: 'Left lung', category: ANATOMICAL_STRUCTURE, type: sct('44029006', 'Left lung'), rgb: LEFT_LUNG, algorithmName: models.lung },
      ],
    },
    {
      labels: lesions,
      segments: [
        {
          labelId: 1, label: 'COVID-19 lesion', description: 'Ground-glass opacity and consolidation',
          category: MORPHOLOGICALLY_ALTERED, type: sct('52988006', 'Lesion'), anatomicRegion: sct('39607008', 'Lung'),
          rgb: LESION, algorithmName: models.lesion,
        },
      ],
    },
  ];
}
