/**
 * Checkpoint files: named float32 tensors plus a JSON record of the run's progress,
 * in one file written atomically, so a killed run resumes where it stopped.
 *
 * Layout: "COVSEGCK" (8 bytes) | uint32 header length | header JSON | tensor data
 * (float32 little-endian, in header order, each at a 4-byte aligned offset).
 */
import { readFile } from 'node:fs/promises';
import { Type } from '@sinclair/typebox';
import { writeFileAtomic } from '../util/atomic-write.js';
import { CovsegError } from '../util/errors.js';
import { checkJson, type Static, type TSchema } from '../util/schema.js';
import type { ModelState, NamedTensor } from '../nn/torch-addon.js';

const MAGIC = 'COVSEGCK';
const count = () => Type.Integer({ minimum: 0 });

/** The header: the caller's `meta` (checked against the caller's schema), the optimiser's step count, where each tensor lies. */
const HeaderSchema = Type.Object({
  meta: Type.Unknown(),
  optimizerSteps: count(),
  tensors: Type.Array(Type.Object({ name: Type.String(), shape: Type.Array(count()), offset: count(), length: count() })),
});
const DAMAGED = 'the checkpoint is damaged or not from covseg train';

export interface Checkpoint<Meta> {
  state: ModelState;
  meta: Meta;
}

export async function saveCheckpoint<Meta>(path: string, checkpoint: Checkpoint<Meta>): Promise<void> {
  const entries = Object.entries(checkpoint.state.tensors);
  let offset = 0;
  const index = entries.map(([name, t]) => {
    const e = { name, shape: t.shape, offset, length: t.data.length };
    offset += t.data.length;
    return e;
  });
  const header = new TextEncoder().encode(JSON.stringify({ meta: checkpoint.meta, optimizerSteps: checkpoint.state.optimizerSteps, tensors: index }));
  const headerPadded = Math.ceil((12 + header.length) / 4) * 4 - 12;
  const buf = new Uint8Array(12 + headerPadded + offset * 4);
  buf.set(new TextEncoder().encode(MAGIC), 0);
  new DataView(buf.buffer).setUint32(8, headerPadded, true);
  buf.set(header, 12);
  buf.fill(0x20, 12 + header.length, 12 + headerPadded);
  const data = new Float32Array(buf.buffer, 12 + headerPadded, offset);
  for (const [i, [, t]] of entries.entries()) data.set(t.data, index[i]!.offset);
  await writeFileAtomic(path, buf);
}

/** Reads a checkpoint; its header, `meta` included, is checked against the schemas (errors name the file and the key). */
export async function loadCheckpoint<S extends TSchema>(path: string, meta: S): Promise<Checkpoint<Static<S>>> {
  let buf: Uint8Array;
  try {
    buf = new Uint8Array(await readFile(path));
  } catch (err) {
    throw new CovsegError(`cannot read checkpoint: ${(err as Error).message}`, { file: path, cause: err });
  }
  if (buf.length < 12 || new TextDecoder().decode(buf.subarray(0, 8)) !== MAGIC) {
    throw new CovsegError('not a covseg checkpoint (bad magic)', { file: path });
  }
  const headerLength = new DataView(buf.buffer, buf.byteOffset).getUint32(8, true);
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder().decode(buf.subarray(12, 12 + headerLength)));
  } catch (err) {
    throw new CovsegError(`checkpoint header is not valid JSON (${(err as Error).message}); ${DAMAGED}`, { file: path, cause: err });
  }
  const header = checkJson(HeaderSchema, json, path, DAMAGED);
  const checked = checkJson(Type.Object({ meta }), { meta: header.meta }, path, DAMAGED) as unknown as { meta: Static<S> };
  const start = 12 + headerLength;
  const total = header.tensors.reduce((a, t) => a + t.length, 0);
  if (buf.length < start + total * 4) throw new CovsegError('checkpoint is truncated', { file: path });
  const aligned = buf.slice(start, start + total * 4);
  const all = new Float32Array(aligned.buffer);
  const tensors: Record<string, NamedTensor> = {};
  for (const t of header.tensors) tensors[t.name] = { shape: t.shape, data: all.subarray(t.offset, t.offset + t.length) };
  return { state: { tensors, optimizerSteps: header.optimizerSteps }, meta: checked.meta };
}

/** Only the network's tensors (drops optimiser buffers), e.g. for export. */
export function networkTensors(state: ModelState): Record<string, NamedTensor> {
  return Object.fromEntries(Object.entries(state.tensors).filter(([n]) => !/^(momentum|adam_m|adam_v)\./.test(n)));
}
