export { readImage, readVolume, countNonFinite, type ImageMeta, type NonFiniteCounts, type ReadImageResult, type ReadVolumeOptions } from './read.js';
export { writeVolume, VOLUME_OUTPUT_EXTENSIONS, type WriteVolumeOptions } from './write.js';
export { DEFAULT_MAX_VOXELS, checkVoxelCount } from './limits.js';
export { detectFormat, sniffFormat, SUPPORTED_FORMATS_TEXT, type DetectedFormat, type ImageFormat } from './format.js';
export { readDicomHeader, isDicom, dicomDateToIso, type DicomHeader } from './dicom-header.js';
export { planDicomSeries, scanDicomFolder, type DicomSeriesPlan, type DicomSeriesSummary, type DicomFolderScan, type PlanDicomSeriesOptions } from './dicom-series.js';
export { type NrrdEncoding } from './nrrd-header.js';
export { writeDicomSeg, readDicomSeg, dicomSegReferenceProblem, DicomSegError, type Code, type SegSegment, type SegLayer, type WriteDicomSegOptions, type DicomSegContents, type WrittenDicomSeg } from './dicom-seg.js';
export { writeDicomSr, dicomSrSources, DicomSrError, COVSEG_UID, ENHANCED_SR_STORAGE, type SrItem, type SrRelationship, type SrInstanceRef, type SrSources, type SrCodingScheme, type WriteDicomSrOptions } from './dicom-sr.js';
export {
  decodePng, decodeJpeg, encodePng, writePng, rasterToGrey, isPng, isJpeg, type RasterImage, type PngImage,
} from './raster.js';
export { imageInfo, orientationOf, type ImageInfo } from './info.js';
