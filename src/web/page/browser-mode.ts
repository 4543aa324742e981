/**
 * The page's browser mode (browser code; compiled by tsc, served as /browser-mode.js):
 * the scan is read by NiiVue (or, for PNG/JPEG, sent as its bytes) and handed to the
 * Web Worker that runs covseg's pipeline with onnxruntime-web (src/web/browser/worker.ts,
 * bundled by esbuild). Nothing is uploaded: the worker only downloads the models.
 */
import type { NVImage } from '@niivue/niivue';
import type { BrowserModeConfig } from '../server.js';
import type { DoneReply, NiivueInput, ProgressReply, RasterInput, SegmentRequest, WorkerReply } from '../browser/messages.js';

type NiivueModule = typeof import('@niivue/niivue');

/** What the page says in its mode badge while the browser mode is chosen. */
export const BROWSER_MODE_TEXT = 'Mode: in this browser (the scan is not uploaded: covseg\'s models run on this page)';

/** The formats the browser mode reads, by file name; DICOM and MetaImage go through the service mode. */
export type BrowserFormat = 'nifti' | 'nrrd' | 'png' | 'jpeg';

/** The file's format by its name, or undefined when the browser mode does not read it. */
export function browserFormat(fileName: string): BrowserFormat | undefined {
  const name = fileName.toLowerCase();
  if (name.endsWith('.nii') || name.endsWith('.nii.gz')) return 'nifti';
  if (name.endsWith('.nrrd')) return 'nrrd';
  if (name.endsWith('.png')) return 'png';
  if (name.endsWith('.jpg') || name.endsWith('.jpeg')) return 'jpeg';
  return undefined;
}

/** The message part for `vol` as NiiVue read it: header fields and a copy of its stored voxels (NiiVue keeps its own). */
export function niivueInput(vol: NVImage, name: string, format: 'nifti' | 'nrrd'): NiivueInput {
  const hdr = vol.hdr;
  if (!hdr || !vol.img) throw new Error(`NiiVue holds no image for ${name}`);
  return {
    kind: 'niivue',
    name,
    format,
    image: {
      hdr: { dims: [...hdr.dims], pixDims: [...hdr.pixDims], affine: hdr.affine.map((row) => [...row]), scl_slope: hdr.scl_slope, scl_inter: hdr.scl_inter },
      img: vol.img.slice(),
    },
  };
}

export async function rasterInput(file: File, format: 'png' | 'jpeg'): Promise<RasterInput> {
  return { kind: 'raster', name: file.name, format, bytes: await file.arrayBuffer() };
}

/**
 * covseg reads an image file as a slice with identity LPS geometry at 1 mm (x towards the
 * patient's left, y posterior; io/raster-decode.ts), which is this RAS affine. NiiVue's
 * own guess for pictures runs x the other way, which would mirror the slice against the
 * right/left labels; the service mode shows the CT covseg wrote, with this geometry.
 */
export const IMAGE_FILE_RAS_AFFINE = [[-1, 0, 0, 0], [0, -1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1]];

/** NIfTI's colour datatypes (RGB24, RGBA32): NiiVue reads colour PNG/JPEG as RGBA32. */
const COLOUR_DATATYPES = new Set([128, 2304]);

/**
 * A colour picture (segmented with --force) is shown as the grey image covseg made of it:
 * NiiVue draws no overlays on a colour background, and grey is what the models saw.
 */
export function showGrey(ct: NVImage, grey: Uint8Array | Uint16Array | undefined): void {
  const hdr = ct.hdr!;
  if (!grey || !COLOUR_DATATYPES.has(hdr.datatypeCode)) return;
  ct.img = grey;
  hdr.datatypeCode = grey instanceof Uint16Array ? 512 : 2; // DT_UINT16 or DT_UINT8
  hdr.numBitsPerVoxel = grey instanceof Uint16Array ? 16 : 8;
  ct.calMinMax();
}

/**
 * An overlay volume on `ct`'s grid holding `labels` (uint8, `ct`'s voxel order): the
 * worker's label maps are computed on the image NiiVue read, voxel for voxel.
 */
export function labelOverlay(mod: NiivueModule, ct: NVImage, labels: Uint8Array, name: string): NVImage {
  const overlay = mod.NVImage.zerosLike(ct, 'uint8');
  overlay.img = labels;
  const hdr = overlay.hdr!;
  hdr.datatypeCode = 2; // DT_UINT8 (a colour CT's overlay is still one label per voxel)
  hdr.numBitsPerVoxel = 8;
  hdr.scl_slope = 1;
  hdr.scl_inter = 0;
  overlay.name = name;
  overlay.calMinMax();
  return overlay;
}

/** The worker, started on first use and kept (with its loaded models) for the page's later scans. */
export class BrowserSegmenter {
  private worker: Worker | undefined;
  private nextId = 1;

  constructor(private readonly config: BrowserModeConfig) {}

  /** Runs the pipeline on `input`; `onProgress` gets every progress message. */
  segment(input: RasterInput | NiivueInput, force: boolean, onProgress: (p: ProgressReply) => void): Promise<DoneReply> {
    if (!this.config.available) return Promise.reject(new Error(this.config.reason ?? 'in-browser segmentation is not available on this service'));
    const worker = (this.worker ??= new Worker(this.config.workerUrl, { type: 'module', name: 'covseg-browser-mode' }));
    const id = this.nextId++;
    const request: SegmentRequest = { type: 'segment', id, input, models: this.config.models, wasmUrl: this.config.wasmUrl, force };
    return new Promise((resolve, reject) => {
      const onMessage = (event: MessageEvent<WorkerReply>) => {
        const reply = event.data;
        if (reply.id !== id) return;
        if (reply.type === 'progress') return onProgress(reply);
        worker.removeEventListener('message', onMessage);
        worker.removeEventListener('error', onError);
        if (reply.type === 'done') resolve(reply);
        else reject(new Error(reply.message));
      };
      const onError = (event: ErrorEvent) => {
        worker.removeEventListener('message', onMessage);
        worker.removeEventListener('error', onError);
        // A worker that fails to start (bundle missing or broken) is dropped, so the next scan starts a fresh one.
        this.worker = undefined;
        worker.terminate();
        reject(new Error(`the in-browser worker failed: ${event.message || 'it could not be started'}`));
      };
      worker.addEventListener('message', onMessage);
      worker.addEventListener('error', onError);
      const transfer = input.kind === 'raster' ? [input.bytes] : [input.image.img.buffer as ArrayBuffer];
      worker.postMessage(request, transfer);
    });
  }
}

/** Share of the progress bar per stage: downloading the models, lungs, lesions, report. */
const STAGE_SPAN: Record<ProgressReply['stage'], [number, number]> = {
  models: [0, 0.1], read: [0.1, 0.1], lungs: [0.1, 0.55], lesions: [0.55, 0.95], lobes: [0.95, 0.95], report: [0.95, 1], write: [1, 1],
};

/** Progress message → (bar fraction, status text with the slice count). */
export function describeProgress(p: ProgressReply, name: string): [number, string] {
  const [from, to] = STAGE_SPAN[p.stage];
  const fraction = from + (to - from) * (p.total > 0 ? p.done / p.total : 0);
  const text = p.stage === 'models'
    ? `In this browser: loading the models (${p.done}/${p.total})`
    : p.stage === 'lungs' || p.stage === 'lesions'
      ? `In this browser: ${p.stage}, slice ${p.done} of ${p.total}: ${name}`
      : `In this browser: ${p.stage}: ${name}`;
  return [fraction, text];
}
