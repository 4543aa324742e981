/**
 * Reads a DICOM SR back with dcmjs (independently of covseg's writer's types) and flattens a
 * TID 1500 report into what tests compare: the measurement groups by tracking identifier,
 * each with its finding, finding site, referenced segment and measurements by concept name.
 */
import { readFileSync } from 'node:fs';
import { arrayBufferOf, dcmjsData, type DcmjsDataset } from '../../src/io/dcmjs.js';

interface Coded { CodeValue: string; CodingSchemeDesignator: string; CodeMeaning: string }
export interface SrNode extends DcmjsDataset {
  ValueType: string;
  RelationshipType?: string;
  ConceptNameCodeSequence?: Coded | Coded[];
  ContentSequence?: SrNode | SrNode[];
}

/** dcmjs naturalizes a one-item sequence to the item itself. */
export const many = <T>(v: T | T[] | undefined): T[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);
export const code = (v: Coded | Coded[] | undefined): Coded | undefined => {
  const c = many(v)[0];
  return c && { CodeValue: c.CodeValue, CodingSchemeDesignator: c.CodingSchemeDesignator, CodeMeaning: c.CodeMeaning };
};
export const children = (n: SrNode): SrNode[] => many(n.ContentSequence);
export const named = (n: SrNode, meaning: string): SrNode[] => children(n).filter((c) => code(c.ConceptNameCodeSequence)?.CodeMeaning === meaning);

export function readSr(file: string): SrNode {
  const dicom = dcmjsData.DicomMessage.readFile(arrayBufferOf(readFileSync(file)));
  return dcmjsData.DicomMetaDictionary.naturalizeDataset(dicom.dict) as SrNode;
}

export interface SrGroup {
  template: string;
  finding: string;
  site?: string;
  /** The finding site's topographical modifier (a region of the lung). */
  siteModifier?: string;
  segment?: { sopInstanceUid: string; segmentNumber: number };
  sourceSeries?: string;
  /** NUM values by concept meaning, with their unit code. */
  nums: Record<string, { value: number; unit: string; algorithm: string[] }>;
}

export function srGroups(root: SrNode): Record<string, SrGroup> {
  const out: Record<string, SrGroup> = {};
  const measurements = named(root, 'Imaging Measurements')[0]!;
  for (const g of named(measurements, 'Measurement Group')) {
    const text = (m: string) => named(g, m)[0] as (SrNode & { TextValue?: string; UID?: string; ConceptCodeSequence?: Coded }) | undefined;
    const ref = text('Referenced Segment') as (SrNode & { ReferencedSOPSequence?: { ReferencedSOPInstanceUID: string; ReferencedSegmentNumber: number } }) | undefined;
    const nums: SrGroup['nums'] = {};
    for (const n of children(g).filter((c) => c.ValueType === 'NUM')) {
      const mv = many(n.MeasuredValueSequence as DcmjsDataset | DcmjsDataset[])[0]!;
      nums[code(n.ConceptNameCodeSequence)!.CodeMeaning] = {
        value: Number(mv.NumericValue),
        unit: code(mv.MeasurementUnitsCodeSequence as Coded)!.CodeValue,
        algorithm: children(n).map((c) => String((c as { TextValue?: string }).TextValue)),
      };
    }
    const tmpl = many(g.ContentTemplateSequence as DcmjsDataset | DcmjsDataset[])[0];
    out[text('Tracking Identifier')!.TextValue!] = {
      template: String(tmpl?.TemplateIdentifier),
      finding: code(text('Finding')!.ConceptCodeSequence)!.CodeValue,
      ...(text('Finding Site') ? { site: code(text('Finding Site')!.ConceptCodeSequence)!.CodeValue } : {}),
      ...(text('Finding Site') && named(text('Finding Site')!, 'Topographical modifier')[0]
        ? { siteModifier: code((named(text('Finding Site')!, 'Topographical modifier')[0] as SrNode & { ConceptCodeSequence?: Coded }).ConceptCodeSequence)!.CodeValue } : {}),
      ...(ref ? { segment: { sopInstanceUid: many(ref.ReferencedSOPSequence)[0]!.ReferencedSOPInstanceUID, segmentNumber: Number(many(ref.ReferencedSOPSequence)[0]!.ReferencedSegmentNumber) } } : {}),
      ...(text('Source series for segmentation') ? { sourceSeries: text('Source series for segmentation')!.UID! } : {}),
      nums,
    };
  }
  return out;
}
