/**
 * What covseg's report says in a DICOM SR: a TID 1500 Measurement Report (PS3.16) of the
 * numbers of report.json. Per lung, a TID 1411 volumetric group for the lung (its volume)
 * and one for the lesions in it (volume, % of that lung, ground glass and consolidation
 * where the density split was made); one for the lesions in both lungs; the total lung
 * volume; and the severity, or "not assessable" with the reason, as a qualitative
 * evaluation. Every TID 1411 group references its segment in the SEG (ReferencedSOPInstanceUID
 * + ReferencedSegmentNumber); a group whose segment the SEG lacks (an empty mask is not
 * written) is a TID 1501 group without reference. Each measurement names the model that
 * made it (TID 4019: name and version, the model file's sha256 where known).
 *
 * From report.clinical (where the report has it), TID 1501 groups without segment
 * reference (no SEG segment is a region or a lobe): per lung and region (upper, middle,
 * lower third; ventral, dorsal half; peripheral, central part) the lesion volume and the %
 * of that region affected, the finding site being the lung with the region as its
 * topographical modifier, and in each third its zone score (0-4); per lobe (with lobe
 * labels) the lesion volume, % of the lobe affected, its lobar TSS (0-4) and Pan (0-5)
 * scores; one group "CT severity scores" with the zone score (0-24), the lobar TSS (0-20)
 * and the Pan score (0-25). A score not given (not assessable, no lobes, no thirds) is left
 * out, and a comment among the qualitative evaluations says why.
 *
 * Codes: DCM (PS3.16 Annex D), SNOMED CT (anatomy, lobes, findings, Volume, the region
 * qualifiers of CID 2), NCIt ("Middle", as CID 212 has it), UCUM (units; scores '{score}').
 * The share of lung or lobe affected, ground-glass and consolidation volumes, the scores and
 * MosMedData's CT-0…CT-4 have no standard code; they are in covseg's private scheme
 * 99COVSEG, which the SR names. */
import type { Code, SrCodingScheme, SrInstanceRef, SrItem, SrRelationship, WrittenDicomSeg } from '../io/index.js';
import { COVSEG_UID, dicomSrSources, writeDicomSr } from '../io/index.js';
import { dcmjsData } from '../io/dcmjs.js';
import { LOBES, type LobeKey, type RegionName } from '../clinical/index.js';
import type { SegmentReport, LesionSideNumbers, LungSideNumbers } from './report.js';

const dcm = (value: string, meaning: string): Code => ({ value, scheme: 'DCM', meaning });
const sct = (value: string, meaning: string): Code => ({ value, scheme: 'SCT', meaning });
const ucum = (value: string, meaning: string): Code => ({ value, scheme: 'UCUM', meaning });
const own = (value: string, meaning: string): Code => ({ value, scheme: '99COVSEG', meaning });

export const COVSEG_CODING_SCHEME: SrCodingScheme = { designator: '99COVSEG', name: 'covseg', responsibleOrganization: 'covseg project' };

export const SR_CODES = {
  report: dcm('126000', 'Imaging Measurement Report'),
  language: dcm('121049', 'Language of Content Item and Descendants'),
  english: { value: 'eng', scheme: 'RFC5646', meaning: 'English' },
  country: dcm('121046', 'Country of Language'),
  usa: { value: 'US', scheme: 'ISO3166_1', meaning: 'United States' },
  observerType: dcm('121005', 'Observer Type'),
  device: dcm('121007', 'Device'),
  deviceUid: dcm('121012', 'Device Observer UID'),
  deviceName: dcm('121013', 'Device Observer Name'),
  procedureReported: dcm('121058', 'Procedure reported'),
  imagingProcedure: sct('363679005', 'Imaging procedure'),
  imageLibrary: dcm('111028', 'Image Library'),
  imageLibraryGroup: dcm('126200', 'Image Library Group'),
  imagingMeasurements: dcm('126010', 'Imaging Measurements'),
  measurementGroup: dcm('125007', 'Measurement Group'),
  trackingId: dcm('112039', 'Tracking Identifier'),
  trackingUid: dcm('112040', 'Tracking Unique Identifier'),
  finding: dcm('121071', 'Finding'),
  referencedSegment: dcm('121191', 'Referenced Segment'),
  sourceSeries: dcm('121232', 'Source series for segmentation'),
  findingSite: sct('363698007', 'Finding Site'),
  algorithmName: dcm('111001', 'Algorithm Name'),
  algorithmVersion: dcm('111003', 'Algorithm Version'),
  qualitativeEvaluations: { value: 'C0034375', scheme: 'UMLS', meaning: 'Qualitative Evaluations' },
  severity: sct('246112005', 'Severity'),
  comment: dcm('121106', 'Comment'),
  lung: sct('39607008', 'Lung'),
  rightLung: sct('3341006', 'Right lung'),
  leftLung: sct('44029006', 'Left lung'),
  lesion: sct('52988006', 'Lesion'),
  volume: sct('118565006', 'Volume'),
  groundGlassVolume: own('GGO-VOLUME', 'Ground glass opacity volume'),
  consolidationVolume: own('CONS-VOLUME', 'Consolidation volume'),
  percentAffected: own('LUNG-AFFECTED', 'Percent of lung affected'),
  voxelCount: own('VOXELS', 'Voxel count'),
  notAssessable: own('NO-GRADE', 'Not assessable'),
  topographicalModifier: sct('106233006', 'Topographical modifier'),
  percentOfLobeAffected: own('LOBE-AFFECTED', 'Percent of lobe affected'),
  zoneScore: own('ZONE-SCORE', 'Zone score (0-4)'),
  zoneScoreTotal: own('ZONE-TOTAL', 'Zone severity score (0-24)'),
  lobeTssScore: own('LOBE-TSS', 'Lobar severity score of the lobe (Chung/Li, 0-4)'),
  lobarTss: own('TSS-TOTAL', 'Lobar total severity score (Chung/Li, 0-20)'),
  lobePanScore: own('LOBE-PAN', 'Pan CT score of the lobe (0-5)'),
  panTotal: own('PAN-TOTAL', 'Pan CT score (0-25)'),
  ml: ucum('ml', 'milliliter'),
  percent: ucum('%', 'percent'),
  voxels: ucum('{voxels}', 'voxels'),
  score: ucum('{score}', 'score'),
} as const;

/**
 * The regions of report.clinical as topographical modifiers of the lung (DICOM CID 2 and
 * CID 212): upper/lower, anterior (ventral)/posterior (dorsal), peripheral/central are
 * SNOMED CT qualifiers; "middle" has no SNOMED CT code in those groups, CID 212 gives NCIt's.
 */
export const REGION_SITES: Record<RegionName, { code: Code; phrase: string }> = {
  upper: { code: sct('261183002', 'Upper'), phrase: 'upper third' },
  middle: { code: { value: 'C25569', scheme: 'NCIt', meaning: 'Middle' }, phrase: 'middle third' },
  lower: { code: sct('261122009', 'Lower'), phrase: 'lower third' },
  ventral: { code: sct('255549009', 'Anterior'), phrase: 'ventral half' },
  dorsal: { code: sct('255551008', 'Posterior'), phrase: 'dorsal half' },
  peripheral: { code: sct('14414005', 'Peripheral'), phrase: 'peripheral part' },
  central: { code: sct('26216008', 'Central'), phrase: 'central part' },
};

/** The five lobes (SNOMED CT body structures, as DICOM CID 6113 and TotalSegmentator's SEGs name them). */
export const LOBE_SITES: Record<LobeKey, Code> = {
  RUL: sct('42400003', 'Upper lobe of right lung'),
  RML: sct('72481006', 'Middle lobe of right lung'),
  RLL: sct('266005', 'Lower lobe of right lung'),
  LUL: sct('44714003', 'Upper lobe of left lung'),
  LLL: sct('41224006', 'Lower lobe of left lung'),
};

/** TID 4019: a model as the SR names it. */
export interface Algorithm {
  name: string;
  version: string;
}

/**
 * The report's model names as TID 4019 wants them: covseg's own lung model is named
 * 'default:FILE@SHA12' (the hash is its version); elsewhere the file's sha256, when the
 * caller has it, is the version.
 */
export function algorithmOf(reportName: string, sha256Hex?: string): Algorithm {
  const at = /^(.*)@([0-9a-f]{8,64})$/.exec(reportName);
  if (at) return { name: at[1]!, version: `sha256:${at[2]}` };
  return { name: reportName, version: sha256Hex ? `sha256:${sha256Hex.slice(0, 12)}` : 'not recorded' };
}

export interface SrContentInput {
  report: SegmentReport;
  /** The source images (the CT series the SEG was made on). */
  images: SrInstanceRef[];
  seg: SrInstanceRef & { segmentNumbers: { rightLung?: number; leftLung?: number; lesion?: number } };
  algorithms: { lung: Algorithm; lesion: Algorithm };
  /** New UIDs (Tracking Unique Identifier of each group). */
  newUid: () => string;
}

/** The default character repertoire of DICOM is ASCII: dashes and signs of covseg's phrases are spelt out. */
function ascii(s: string): string {
  return s.replace(/[–—]/g, '-').replace(/×/g, 'x').replace(/≥/g, '>=').replace(/≤/g, '<=').replace(/[^\x20-\x7e]/g, '?');
}

/** An item of the union without its relationship (Omit applied to each member). */
type Unrelated<T> = T extends unknown ? Omit<T, 'relationship'> : never;
const item = (relationship: SrRelationship, rest: Unrelated<SrItem>): SrItem => ({ relationship, ...rest }) as SrItem;

/** A NUM of TID 1419 row 5, with the algorithm (TID 4019) as concept modifiers. */
function measurement(concept: Code, value: number, unit: Code, algorithm: Algorithm): SrItem {
  return item('CONTAINS', {
    valueType: 'NUM', concept, value, unit,
    children: [
      item('HAS CONCEPT MOD', { valueType: 'TEXT', concept: SR_CODES.algorithmName, value: ascii(algorithm.name) }),
      item('HAS CONCEPT MOD', { valueType: 'TEXT', concept: SR_CODES.algorithmVersion, value: ascii(algorithm.version) }),
    ],
  });
}

/** Volume in mL where the voxel size is known, else the voxel count. */
function volume(n: LungSideNumbers, algorithm: Algorithm): SrItem {
  return n.volumeMl !== null ? measurement(SR_CODES.volume, n.volumeMl, SR_CODES.ml, algorithm) : measurement(SR_CODES.voxelCount, n.voxels, SR_CODES.voxels, algorithm);
}

/** A lesion amount: mL where the voxel size is known, else the voxel count. */
function amount(ml: number | null, voxels: number, algorithm: Algorithm): SrItem {
  return ml !== null ? measurement(SR_CODES.volume, ml, SR_CODES.ml, algorithm) : measurement(SR_CODES.voxelCount, voxels, SR_CODES.voxels, algorithm);
}

interface Group {
  tracking: string;
  finding: Code;
  site?: Code;
  /** Topographical modifier of the site (a region of the lung). */
  siteModifier?: Code;
  segmentNumber?: number;
  measurements: SrItem[];
}

/** TID 1411 (segment known) or TID 1501 (no segment to reference). */
function group(g: Group, input: SrContentInput): SrItem {
  const referenced = g.segmentNumber !== undefined;
  return item('CONTAINS', {
    valueType: 'CONTAINER', concept: SR_CODES.measurementGroup, template: referenced ? '1411' : '1501',
    children: [
      item('HAS OBS CONTEXT', { valueType: 'TEXT', concept: SR_CODES.trackingId, value: g.tracking }),
      item('HAS OBS CONTEXT', { valueType: 'UIDREF', concept: SR_CODES.trackingUid, value: input.newUid() }),
      item('CONTAINS', { valueType: 'CODE', concept: SR_CODES.finding, value: g.finding }),
      ...(referenced ? [
        item('CONTAINS', { valueType: 'IMAGE', concept: SR_CODES.referencedSegment, sopClassUid: input.seg.sopClassUid, sopInstanceUid: input.seg.sopInstanceUid, segmentNumber: g.segmentNumber }),
        item('CONTAINS', { valueType: 'UIDREF', concept: SR_CODES.sourceSeries, value: input.images[0]!.seriesInstanceUid }),
      ] : []),
      ...(g.site ? [item('HAS CONCEPT MOD', {
        valueType: 'CODE', concept: SR_CODES.findingSite, value: g.site,
        ...(g.siteModifier ? { children: [item('HAS CONCEPT MOD', { valueType: 'CODE', concept: SR_CODES.topographicalModifier, value: g.siteModifier })] } : {}),
      })] : []),
      ...g.measurements,
    ],
  });
}

/** Lesion volume, its share of the lung, and ground glass / consolidation where the report has them. */
function lesionMeasurements(n: LesionSideNumbers, density: { groundGlassMl: number | null; consolidationMl: number | null } | undefined, algorithm: Algorithm): SrItem[] {
  return [
    volume(n, algorithm),
    measurement(SR_CODES.percentAffected, n.percentOfLung, SR_CODES.percent, algorithm),
    ...(density?.groundGlassMl != null ? [measurement(SR_CODES.groundGlassVolume, density.groundGlassMl, SR_CODES.ml, algorithm)] : []),
    ...(density?.consolidationMl != null ? [measurement(SR_CODES.consolidationVolume, density.consolidationMl, SR_CODES.ml, algorithm)] : []),
  ];
}

/**
 * The groups of report.clinical's regions, lobes and scores, and a comment for each score
 * not given. Regions and lobes are TID 1501 groups: no segment of the SEG is a region or a
 * lobe, so none is referenced. A region that cannot be told (thirds of a single slice, a
 * missing lung) has no group.
 */
function clinicalGroups(report: SegmentReport, algorithm: Algorithm): { groups: Group[]; notGiven: string[] } {
  const clinical = report.clinical;
  if (!clinical) return { groups: [], notGiven: [] };
  const { zone, lobarTss, pan } = clinical.scores;
  const groups: Group[] = [];
  for (const side of [{ key: 'right', name: 'right lung', code: SR_CODES.rightLung }, { key: 'left', name: 'left lung', code: SR_CODES.leftLung }] as const) {
    for (const [region, figures] of Object.entries(clinical[side.key].regions) as [RegionName, (typeof clinical.right.regions)[RegionName]][]) {
      if (!figures) continue;
      const zoneScore = zone.available ? zone.zones.find((z) => z.lung === side.key && z.zone === region) : undefined;
      groups.push({
        tracking: `lesions in the ${REGION_SITES[region].phrase} of the ${side.name}`, finding: SR_CODES.lesion, site: side.code, siteModifier: REGION_SITES[region].code,
        measurements: [
          amount(figures.lesionMl, figures.lesionVoxels, algorithm),
          measurement(SR_CODES.percentAffected, figures.percentAffected, SR_CODES.percent, algorithm),
          ...(zoneScore ? [measurement(SR_CODES.zoneScore, zoneScore.score, SR_CODES.score, algorithm)] : []),
        ],
      });
    }
  }
  for (const lobe of clinical.lobes ?? []) {
    const tss = lobarTss.available ? lobarTss.lobes.find((l) => l.lobe === lobe.lobe) : undefined;
    const p = pan.available ? pan.lobes.find((l) => l.lobe === lobe.lobe) : undefined;
    groups.push({
      tracking: `lesions in the ${LOBES.find((l) => l.key === lobe.lobe)!.name}`, finding: SR_CODES.lesion, site: LOBE_SITES[lobe.lobe],
      measurements: [
        amount(lobe.lesionMl, lobe.lesionVoxels, algorithm),
        measurement(SR_CODES.percentOfLobeAffected, lobe.percentAffected, SR_CODES.percent, algorithm),
        ...(tss ? [measurement(SR_CODES.lobeTssScore, tss.score, SR_CODES.score, algorithm)] : []),
        ...(p ? [measurement(SR_CODES.lobePanScore, p.score, SR_CODES.score, algorithm)] : []),
      ],
    });
  }
  const totals = [
    ...(zone.available ? [measurement(SR_CODES.zoneScoreTotal, zone.total, SR_CODES.score, algorithm)] : []),
    ...(lobarTss.available ? [measurement(SR_CODES.lobarTss, lobarTss.total, SR_CODES.score, algorithm)] : []),
    ...(pan.available ? [measurement(SR_CODES.panTotal, pan.total, SR_CODES.score, algorithm)] : []),
  ];
  if (totals.length > 0) groups.push({ tracking: 'CT severity scores', finding: SR_CODES.lesion, site: SR_CODES.lung, measurements: totals });
  const notGiven = ([['zone severity score (0-24)', zone], ['lobar total severity score (0-20)', lobarTss], ['Pan CT score (0-25)', pan]] as const)
    .flatMap(([name, s]) => (s.available ? [] : [`${name} not given: ${s.reason}`]));
  return { groups, notGiven };
}

/** The TID 1500 content tree of `input.report` (root CONTAINER). */
export function measurementReportContent(input: SrContentInput): SrItem {
  const { report, algorithms, seg } = input;
  const density = (side: 'right' | 'left' | 'total') => {
    const c = report.clinical?.[side];
    return c ? { groundGlassMl: c.groundGlass?.volumeMl ?? null, consolidationMl: c.consolidation?.volumeMl ?? null } : undefined;
  };
  const sides = [
    { key: 'right', name: 'right lung', code: SR_CODES.rightLung, segment: seg.segmentNumbers.rightLung },
    { key: 'left', name: 'left lung', code: SR_CODES.leftLung, segment: seg.segmentNumbers.leftLung },
  ] as const;
  const groups: Group[] = [
    ...sides.map((s) => ({ tracking: s.name, finding: s.code, segmentNumber: s.segment, measurements: [volume(report.lungs[s.key], algorithms.lung)] })),
    { tracking: 'both lungs', finding: SR_CODES.lung, measurements: [volume(report.lungs.total, algorithms.lung)] },
    ...sides.map((s) => ({ tracking: `lesions in the ${s.name}`, finding: SR_CODES.lesion, site: s.code, segmentNumber: seg.segmentNumbers.lesion, measurements: lesionMeasurements(report.lesions[s.key], density(s.key), algorithms.lesion) })),
    { tracking: 'lesions in both lungs', finding: SR_CODES.lesion, site: SR_CODES.lung, segmentNumber: seg.segmentNumbers.lesion, measurements: lesionMeasurements(report.lesions.total, density('total'), algorithms.lesion) },
  ];
  const clinical = clinicalGroups(report, algorithms.lesion);
  groups.push(...clinical.groups);
  const severity = report.severity;
  const evaluations: SrItem[] = severity.category !== null
    ? [item('CONTAINS', { valueType: 'CODE', concept: SR_CODES.severity, value: own(severity.category, ascii(`${severity.category}: ${severity.description}`)) })]
    : [
      item('CONTAINS', { valueType: 'CODE', concept: SR_CODES.severity, value: SR_CODES.notAssessable }),
      item('CONTAINS', { valueType: 'TEXT', concept: SR_CODES.comment, value: ascii(`not assessable: ${severity.reason ?? severity.description}; the percentages are of ${severity.percentOf}`) }),
    ];
  evaluations.push(...clinical.notGiven.map((why) => item('CONTAINS', { valueType: 'TEXT', concept: SR_CODES.comment, value: ascii(why) })));
  return {
    valueType: 'CONTAINER', concept: SR_CODES.report, template: '1500',
    children: [
      item('HAS CONCEPT MOD', { valueType: 'CODE', concept: SR_CODES.language, value: SR_CODES.english, children: [item('HAS CONCEPT MOD', { valueType: 'CODE', concept: SR_CODES.country, value: SR_CODES.usa })] }),
      item('HAS OBS CONTEXT', { valueType: 'CODE', concept: SR_CODES.observerType, value: SR_CODES.device }),
      item('HAS OBS CONTEXT', { valueType: 'UIDREF', concept: SR_CODES.deviceUid, value: COVSEG_UID }),
      item('HAS OBS CONTEXT', { valueType: 'TEXT', concept: SR_CODES.deviceName, value: 'covseg' }),
      item('HAS CONCEPT MOD', { valueType: 'CODE', concept: SR_CODES.procedureReported, value: SR_CODES.imagingProcedure }),
      item('CONTAINS', {
        valueType: 'CONTAINER', concept: SR_CODES.imageLibrary,
        children: [item('CONTAINS', { valueType: 'CONTAINER', concept: SR_CODES.imageLibraryGroup, children: input.images.map((i) => item('CONTAINS', { valueType: 'IMAGE', sopClassUid: i.sopClassUid, sopInstanceUid: i.sopInstanceUid })) })],
      }),
      item('CONTAINS', { valueType: 'CONTAINER', concept: SR_CODES.imagingMeasurements, children: groups.map((g) => group(g, input)) }),
      item('CONTAINS', { valueType: 'CONTAINER', concept: SR_CODES.qualitativeEvaluations, children: evaluations }),
    ],
  };
}

/** The SEG's numbers of covseg's three segments (dicom-seg-segments.ts), by their type codes; absent where the SEG left a segment out. */
export function covsegSegmentNumbers(seg: WrittenDicomSeg): SrContentInput['seg']['segmentNumbers'] {
  const of = (code: Code) => seg.segments.find((s) => s.segment.type.value === code.value && s.segment.type.scheme === code.scheme)?.segmentNumber;
  return { rightLung: of(SR_CODES.rightLung), leftLung: of(SR_CODES.leftLung), lesion: of(SR_CODES.lesion) };
}

export interface WriteMeasurementSrOptions {
  report: SegmentReport;
  /** The DICOM images segmented (the SEG's source). */
  sourceFiles: string[];
  seg: WrittenDicomSeg;
  algorithms: { lung: Algorithm; lesion: Algorithm };
  softwareVersion?: string;
}

/** Writes `path`: the TID 1500 report of `report`, referencing the source images and `seg`'s segments. */
export async function writeMeasurementSr(path: string, options: WriteMeasurementSrOptions): Promise<{ sopInstanceUid: string; seriesInstanceUid: string }> {
  const sources = await dicomSrSources(options.sourceFiles);
  const content = measurementReportContent({
    report: options.report, images: sources.images, algorithms: options.algorithms,
    seg: { ...options.seg, segmentNumbers: covsegSegmentNumbers(options.seg) },
    newUid: () => dcmjsData.DicomMetaDictionary.uid(),
  });
  return writeDicomSr(path, {
    sources, references: [options.seg], content, seriesDescription: 'covseg lung and lesion measurements',
    codingSchemes: [COVSEG_CODING_SCHEME], ...(options.softwareVersion ? { softwareVersion: options.softwareVersion } : {}),
  });
}
