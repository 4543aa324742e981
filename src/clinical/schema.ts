/**
 * The clinical block of report.json as a schema (src/util/schema.ts): the TypeScript types
 * of the figures and the check `covseg compare` and the web page run on a report they read.
 */
import { Type } from '@sinclair/typebox';
import { eachOf, literals, orNull, type Static } from '../util/schema.js';
import { BAND_NAMES, HuBandsSchema } from './bands.js';
import { LOBE_KEYS } from './lobes.js';

export const REGION_NAMES = ['upper', 'middle', 'lower', 'ventral', 'dorsal', 'peripheral', 'central'] as const;
export type RegionName = (typeof REGION_NAMES)[number];

const AmountSchema = Type.Object({
  voxels: Type.Integer({ minimum: 0 }),
  /** null when the voxel size is unknown. */
  volumeMl: orNull(Type.Number()),
  /** Of the lung (or region) it belongs to, in %. */
  percentOfLung: Type.Number(),
});
export type Amount = Static<typeof AmountSchema>;

const RegionFiguresSchema = Type.Object({
  lungVoxels: Type.Integer({ minimum: 0 }),
  lungMl: orNull(Type.Number()),
  lesionVoxels: Type.Integer({ minimum: 0 }),
  lesionMl: orNull(Type.Number()),
  /** Lesion share of this region of the lung, %. */
  percentAffected: Type.Number(),
  /** Lesion voxels at consolidation density; null without HU. */
  consolidationVoxels: orNull(Type.Integer({ minimum: 0 })),
});
export type RegionFigures = Static<typeof RegionFiguresSchema>;

const LungClinicalSchema = Type.Object({
  lung: Type.Object({ voxels: Type.Integer({ minimum: 0 }), volumeMl: orNull(Type.Number()) }),
  lesion: AmountSchema,
  /** Lesion below the consolidation limit; null without HU. */
  groundGlass: orNull(AmountSchema),
  /** Lesion at or above the consolidation limit; null without HU. */
  consolidation: orNull(AmountSchema),
  /** Consolidation as % of the lesion (0 without lesion); null without HU. */
  consolidationPercentOfLesion: orNull(Type.Number()),
  /** The lung's density bands (Lung CT Analyzer), lesion or not: they add up to the lung. null without HU. */
  bands: orNull(eachOf(BAND_NAMES, AmountSchema)),
  /**
   * The lung in four parts that add up to it: affected (the lesion), functional (outside
   * the lesion at normally aerated density), emphysema range (outside the lesion, below
   * the aerated band), other (outside the lesion, denser than aerated: vessels, airway
   * walls, dense tissue the model did not call lesion). null without HU.
   */
  composition: orNull(Type.Object({ affected: AmountSchema, functional: AmountSchema, emphysemaRange: AmountSchema, other: AmountSchema })),
  /** % affected per region; a region is null where it cannot be told (thirds on a single slice, a missing lung). */
  regions: eachOf(REGION_NAMES, orNull(RegionFiguresSchema)),
  /** Deepest point of the lung, mm from its surface (the peripheral/central limit is a third of it); null without lung. */
  maxDepthMm: orNull(Type.Number()),
});
export type LungClinical = Static<typeof LungClinicalSchema>;

const UnavailableSchema = Type.Object({ available: Type.Literal(false), reason: Type.String() });
export type Unavailable = Static<typeof UnavailableSchema>;

const ZoneScoreSchema = Type.Object({
  available: Type.Literal(true),
  label: Type.String(),
  total: Type.Number(),
  max: Type.Literal(24),
  zones: Type.Array(Type.Object({ lung: literals(['right', 'left']), zone: literals(['upper', 'middle', 'lower']), percentAffected: Type.Number(), score: Type.Number() })),
});
export type ZoneScore = Static<typeof ZoneScoreSchema>;

const LobeScoreSchema = Type.Object({
  available: Type.Literal(true),
  label: Type.String(),
  total: Type.Number(),
  max: Type.Number(),
  lobes: Type.Array(Type.Object({ lobe: literals(LOBE_KEYS), name: Type.String(), percentAffected: Type.Number(), score: Type.Number() })),
});
export type LobeScore = Static<typeof LobeScoreSchema>;

const LobeFiguresSchema = Type.Object({
  lobe: literals(LOBE_KEYS),
  name: Type.String(),
  /** LTRCLobes label value. */
  label: Type.Integer({ minimum: 1 }),
  voxels: Type.Integer({ minimum: 0 }),
  volumeMl: orNull(Type.Number()),
  lesionVoxels: Type.Integer({ minimum: 0 }),
  lesionMl: orNull(Type.Number()),
  percentAffected: Type.Number(),
  consolidationVoxels: orNull(Type.Integer({ minimum: 0 })),
});
export type LobeFigures = Static<typeof LobeFiguresSchema>;

export const ClinicalFiguresSchema = Type.Object({
  format: Type.Literal('covseg-clinical'),
  version: Type.Literal(1),
  /** The density split: available for HU input only. */
  density: Type.Union([
    Type.Object({ available: Type.Literal(true), bands: HuBandsSchema, ranges: eachOf(BAND_NAMES, Type.String()), consolidationFrom: Type.Number() }),
    UnavailableSchema,
  ]),
  /** How the regions were drawn, in words, and what could not be. */
  regionRules: Type.Object({ thirds: Type.String(), halves: Type.String(), depth: Type.String(), notes: Type.Array(Type.String()) }),
  right: LungClinicalSchema,
  left: LungClinicalSchema,
  /** Both lungs together (each lung's own regions summed). */
  total: LungClinicalSchema,
  /** Per lobe (LTRCLobes order of reading: RUL, RML, RLL, LUL, LLL); null without lobe labels. */
  lobes: orNull(Type.Array(LobeFiguresSchema)),
  scores: Type.Object({
    assessable: Type.Boolean(),
    zone: Type.Union([ZoneScoreSchema, UnavailableSchema]),
    lobarTss: Type.Union([LobeScoreSchema, UnavailableSchema]),
    pan: Type.Union([LobeScoreSchema, UnavailableSchema]),
  }),
});
export type ClinicalFigures = Static<typeof ClinicalFiguresSchema>;
