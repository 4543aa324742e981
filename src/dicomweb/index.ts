export { DicomWebClient, DicomWebHttpError, DicomWebUnreachableError, isTransientDicomWebError, SeriesChangedError, DEFAULT_DICOMWEB_TIMEOUT_MS, type DicomWebAuth, type DicomWebClientOptions, type RetrieveLimits, type StoreItem, type StoreResult } from './client.js';
export { headerOfJson, jsonString, jsonNumber, jsonItems, TAG, type DicomJson } from './dicom-json.js';
export { fetchCtSeries, type FetchSeriesOptions, type FetchedSeries } from './fetch-series.js';
export { segmentStudy, dicomOutputs, storeDicomFiles, type SegmentStudyOptions, type SegmentStudyResult, type StudyStage } from './segment-study.js';
export { listStudies, parseStudyQuery, queryStudies, type StudySummary } from './studies.js';
export { connectionClients, type DicomWebClients, type DicomWebConnection } from './connection.js';
