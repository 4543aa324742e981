/** DICOM dates, free of Node (the segmentation core and the browser use them). */

/** A DICOM date (DA, YYYYMMDD; also YYYY-MM-DD as some exports write it) as YYYY-MM-DD; undefined when it is neither. */
export function dicomDateToIso(date: string | undefined): string | undefined {
  const m = date?.trim().match(/^(\d{4})-?(\d{2})-?(\d{2})$/);
  return m ? `${m[1]}-${m[2]}-${m[3]}` : undefined;
}
