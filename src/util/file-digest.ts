/**
 * sha256 of a file's bytes, streamed (a CT volume or a model file is never held whole for
 * it): build-db's case checksums, the models' versions in segment's report and DICOM SR,
 * batch's done markers, pseudo-label's teacher.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';

/** A file's size and the sha256 (hex) of its bytes. */
export interface FileDigest {
  bytes: number;
  sha256: string;
}

/** Size and sha256 of the file at `path`; rejects when it cannot be read. */
export function digestFile(path: string): Promise<FileDigest> {
  return new Promise<FileDigest>((resolve, reject) => {
    const h = createHash('sha256');
    let bytes = 0;
    createReadStream(path)
      .on('data', (chunk) => {
        bytes += chunk.length;
        h.update(chunk);
      })
      .on('end', () => resolve({ bytes, sha256: h.digest('hex') }))
      .on('error', reject);
  });
}

/** The sha256 (hex) of the file at `path`; rejects when it cannot be read. */
export async function sha256File(path: string): Promise<string> {
  return (await digestFile(path)).sha256;
}
