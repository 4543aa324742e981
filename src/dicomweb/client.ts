/**
 * A DICOMweb client over Node's own fetch: QIDO-RS searches, WADO-RS series metadata and
 * instances (multipart/related, parsed by @remix-run/multipart-parser with a size bound on
 * every part and on the whole answer), STOW-RS (every file in one multipart/related
 * request, the answer's FailedSOPSequence checked). README.md says why not dicomweb-client.
 *
 * Every request has an idle timeout (no byte for `timeoutMs` aborts it), and every failure
 * is one CovsegError line naming the server: unreachable, 401/403, not found, too large.
 */
import { getMultipartBoundary, MaxFileSizeExceededError, MaxPartsExceededError, MaxTotalSizeExceededError, MultipartParseError, parseMultipartStream } from '@remix-run/multipart-parser';
import { CovsegError, UsageError } from '../util/errors.js';
import { jsonItems, jsonNumber, jsonString, TAG, type DicomJson } from './dicom-json.js';

/** Basic (user + password) or bearer-token authentication; none when empty. */
export interface DicomWebAuth {
  user?: string;
  password?: string;
  token?: string;
}

export interface DicomWebClientOptions {
  auth?: DicomWebAuth;
  /** A request that receives no byte for this long is aborted. Defaults to DEFAULT_DICOMWEB_TIMEOUT_MS. */
  timeoutMs?: number;
}

/** 60 s without a byte: a PACS busy fetching from its archive answers within that. */
export const DEFAULT_DICOMWEB_TIMEOUT_MS = 60_000;
/** A QIDO-RS or metadata answer larger than this is refused: 64 MiB is the metadata of a 20,000-instance series. */
const MAX_JSON_BYTES = 64 * 1024 * 1024;

/** A non-2xx answer; `status` lets callers tell "not found" from a failure. */
export class DicomWebHttpError extends CovsegError {
  constructor(message: string, readonly status: number) {
    super(message);
  }
}

/**
 * The server could not be reached, went silent, or broke off its answer: a failure of the
 * moment, not of the study, worth another try later (a queue retries it; bad input it does not).
 */
export class DicomWebUnreachableError extends CovsegError {}

/** Whether `err` may pass on its own: the server unreachable or silent, or answering 429, 502, 503, 504. */
export function isTransientDicomWebError(err: unknown): boolean {
  return err instanceof DicomWebUnreachableError || (err instanceof DicomWebHttpError && [429, 502, 503, 504].includes(err.status));
}

/** Bounds of one WADO-RS retrieve. */
export interface RetrieveLimits {
  /** Most parts (instances) the answer may hold. */
  maxParts: number;
  /** Most bytes one part (one Part-10 file) may have. */
  maxPartBytes: number;
  /** Most bytes all parts together may have. */
  maxTotalBytes: number;
}

/** One file to store, named (its path) in messages. */
export interface StoreItem {
  name: string;
  bytes: Uint8Array;
  sopInstanceUid: string;
}

/** What a STOW-RS request stored. */
export interface StoreResult {
  /** The server's URL of the stored instances (RetrieveURL), when it says. */
  retrieveUrl?: string;
  stored: string[];
}

const PART10 = 'application/dicom';
const JSON_TYPE = 'application/dicom+json';

/** Why fetch could not reach the server, in words (the undici error's cause code). */
function unreachableReason(err: unknown): string {
  const cause = (err as { cause?: { code?: string; message?: string } }).cause;
  const code = cause?.code ?? '';
  if (code === 'ECONNREFUSED') return 'connection refused (is the server running, and is the port right?)';
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return 'host not found';
  if (code === 'ECONNRESET' || code === 'UND_ERR_SOCKET') return 'the connection was closed';
  if (/CERT|SELF_SIGNED|UNABLE_TO_VERIFY|ERR_TLS/.test(code)) return `TLS certificate not trusted (${code}); give the hospital's CA with NODE_EXTRA_CA_CERTS=ca.pem`;
  return cause?.message ?? (err instanceof Error ? err.message : String(err));
}

export class DicomWebClient {
  /** The service's base URL without credentials or a trailing slash (…/dicom-web). */
  readonly url: string;
  readonly #authorization: string | undefined;
  readonly #timeoutMs: number;

  /** `url` may carry user:password@, used as basic authentication (fetch refuses them in the URL). */
  constructor(url: string, options: DicomWebClientOptions = {}) {
    let u: URL;
    try {
      u = new URL(url);
    } catch {
      throw new UsageError(`not a URL: ${url} (give the DICOMweb service's base URL, e.g. http://pacs:8042/dicom-web)`);
    }
    if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new UsageError(`a DICOMweb URL is http:// or https://, not ${u.protocol}//`);
    const auth = { ...options.auth };
    if (u.username) {
      auth.user ??= decodeURIComponent(u.username);
      auth.password ??= decodeURIComponent(u.password);
      u.username = '';
      u.password = '';
    }
    if (auth.token && auth.user) throw new UsageError('give a bearer token or a user and password for DICOMweb, not both');
    this.#authorization = auth.token ? `Bearer ${auth.token}` : auth.user ? `Basic ${Buffer.from(`${auth.user}:${auth.password ?? ''}`).toString('base64')}` : undefined;
    this.url = u.toString().replace(/\/+$/, '');
    this.#timeoutMs = options.timeoutMs ?? DEFAULT_DICOMWEB_TIMEOUT_MS;
  }

  /**
   * One request; `consume` reads the answer while the idle timer runs (`touch` restarts it).
   * A non-2xx status is a DicomWebHttpError unless `accept` takes it.
   */
  async #request<T>(path: string, init: { method?: string; accept: string; body?: Uint8Array<ArrayBuffer>; contentType?: string; what: string; acceptStatus?: (s: number) => boolean }, consume: (res: Response, touch: () => void, signal: AbortSignal) => Promise<T>): Promise<T> {
    const target = `${this.url}${path}`;
    const controller = new AbortController();
    const seconds = this.#timeoutMs / 1000;
    const timer = setTimeout(() => controller.abort(new DicomWebUnreachableError(`DICOMweb server ${this.url} sent nothing for ${seconds} s while ${init.what} (--dicomweb-timeout)`)), this.#timeoutMs);
    const touch = () => timer.refresh();
    const headers: Record<string, string> = { Accept: init.accept };
    if (this.#authorization) headers['Authorization'] = this.#authorization;
    if (init.contentType) headers['Content-Type'] = init.contentType;
    try {
      let res: Response;
      try {
        res = await fetch(target, { method: init.method ?? 'GET', headers, body: init.body, signal: controller.signal });
      } catch (err) {
        if (controller.signal.aborted) throw controller.signal.reason;
        throw new DicomWebUnreachableError(`cannot reach DICOMweb server ${this.url}: ${unreachableReason(err)}`, { cause: err });
      }
      if (!res.ok && !init.acceptStatus?.(res.status)) {
        await res.body?.cancel().catch(() => {});
        throw this.#statusError(res, init.what);
      }
      try {
        return await consume(res, touch, controller.signal);
      } catch (err) {
        // Leave no half-read answer holding the connection.
        await res.body?.cancel().catch(() => {});
        if (controller.signal.aborted) throw controller.signal.reason;
        if (err instanceof CovsegError) throw err;
        throw new DicomWebUnreachableError(`DICOMweb server ${this.url}: the answer broke off while ${init.what}: ${unreachableReason(err)}`, { cause: err });
      }
    } finally {
      clearTimeout(timer);
    }
  }

  #statusError(res: Response, what: string): DicomWebHttpError {
    const s = res.status;
    const head = `DICOMweb server ${this.url} answered ${s} ${res.statusText || ''}`.trimEnd();
    if (s === 401) {
      return new DicomWebHttpError(`${head} while ${what}: ${this.#authorization ? 'the credentials were refused' : 'it needs credentials'}; give --dicomweb-user with COVSEG_DICOMWEB_PASSWORD, or COVSEG_DICOMWEB_TOKEN`, s);
    }
    if (s === 403) return new DicomWebHttpError(`${head} while ${what}: these credentials may not do that`, s);
    return new DicomWebHttpError(`${head} while ${what}`, s);
  }

  /** Reads a JSON answer (QIDO-RS, metadata, STOW-RS), at most MAX_JSON_BYTES; 204 or an empty body is []. */
  async #json(res: Response, touch: () => void, what: string): Promise<unknown> {
    const chunks: Uint8Array[] = [];
    let n = 0;
    if (res.body) {
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
        touch();
        n += chunk.length;
        if (n > MAX_JSON_BYTES) throw new CovsegError(`DICOMweb server ${this.url} sent more than ${MAX_JSON_BYTES / 2 ** 20} MiB of JSON while ${what}`);
        chunks.push(chunk);
      }
    }
    const text = Buffer.concat(chunks).toString('utf8').trim();
    if (text === '') return [];
    try {
      return JSON.parse(text);
    } catch {
      throw new CovsegError(`DICOMweb server ${this.url} sent invalid JSON while ${what}`);
    }
  }

  async #datasets(path: string, what: string): Promise<DicomJson[]> {
    const body = await this.#request(path, { accept: JSON_TYPE, what }, (res, touch) => this.#json(res, touch, what));
    if (!Array.isArray(body)) throw new CovsegError(`DICOMweb server ${this.url} sent JSON that is not a list of data sets while ${what}`);
    return body as DicomJson[];
  }

  /** QIDO-RS: the studies matching `query` (attribute keyword or tag → value or values, plus limit/offset/includefield). */
  searchStudies(query: Record<string, string | string[]> = {}): Promise<DicomJson[]> {
    return this.#datasets(`/studies${queryString(query)}`, 'searching studies');
  }

  /** QIDO-RS: the series of one study, with modality, description and instance count. */
  searchSeries(studyUid: string): Promise<DicomJson[]> {
    return this.#datasets(`/studies/${enc(studyUid)}/series${queryString({ includefield: [TAG.seriesDescription, TAG.numberOfSeriesRelatedInstances] })}`, `searching the series of study ${studyUid}`);
  }

  /** WADO-RS: the metadata of every instance of one series (no pixel data). */
  seriesMetadata(studyUid: string, seriesUid: string): Promise<DicomJson[]> {
    return this.#datasets(`/studies/${enc(studyUid)}/series/${enc(seriesUid)}/metadata`, `reading the metadata of series ${seriesUid}`);
  }

  /**
   * WADO-RS: every instance of one series as Part-10 bytes, in the server's transfer syntax
   * default (explicit VR little endian), each handed to `onInstance` as it arrives. Refuses an
   * answer past `limits`. Returns the number of instances.
   */
  async retrieveSeries(studyUid: string, seriesUid: string, limits: RetrieveLimits, onInstance: (bytes: Uint8Array, index: number) => Promise<void>): Promise<number> {
    const what = `retrieving series ${seriesUid}`;
    return this.#request(`/studies/${enc(studyUid)}/series/${enc(seriesUid)}`, { accept: `multipart/related; type="${PART10}"`, what }, async (res, touch) => {
      const type = res.headers.get('content-type') ?? '';
      const boundary = getMultipartBoundary(type);
      if (!/^multipart\/related/i.test(type) || !boundary) throw new CovsegError(`DICOMweb server ${this.url} answered with ${type || 'no Content-Type'}, not multipart/related, while ${what}`);
      if (!res.body) return 0;
      const counted = res.body.pipeThrough(new TransformStream<Uint8Array, Uint8Array>({ transform: (chunk, c) => { touch(); c.enqueue(chunk); } }));
      let n = 0;
      try {
        for await (const part of parseMultipartStream(counted, { boundary, maxParts: limits.maxParts, maxFileSize: limits.maxPartBytes, maxTotalSize: limits.maxTotalBytes, maxHeaderSize: 16 * 1024 })) {
          const partType = part.mediaType ?? PART10;
          if (partType !== PART10) throw new CovsegError(`DICOMweb server ${this.url} sent a ${partType} part, not ${PART10}, while ${what}`);
          await onInstance(part.bytes, n++);
        }
      } catch (err) {
        if (err instanceof MaxPartsExceededError) throw new SeriesChangedError(`the server sent more than the ${limits.maxParts} instance(s) its metadata listed`);
        if (err instanceof MaxFileSizeExceededError) throw new CovsegError(`DICOMweb server ${this.url} sent an instance of more than ${mib(limits.maxPartBytes)} (the series' rows × columns allow) while ${what}`);
        if (err instanceof MaxTotalSizeExceededError) throw new CovsegError(`DICOMweb server ${this.url} sent more than ${mib(limits.maxTotalBytes)} (the series' size by its metadata, see --max-voxels) while ${what}`);
        if (err instanceof MultipartParseError) throw new CovsegError(`DICOMweb server ${this.url} sent a broken multipart answer while ${what}: ${err.message}`);
        throw err;
      }
      return n;
    });
  }

  /**
   * STOW-RS: stores `items` in one request and checks the answer: a FailedSOPSequence, or an
   * instance the server does not confirm, is an error that names what was and was not stored.
   */
  async store(items: readonly StoreItem[]): Promise<StoreResult> {
    const boundary = `covseg-${crypto.randomUUID()}`;
    const parts: Uint8Array[] = [];
    for (const item of items) {
      parts.push(Buffer.from(`--${boundary}\r\nContent-Type: ${PART10}\r\nContent-Length: ${item.bytes.length}\r\n\r\n`, 'latin1'), item.bytes, Buffer.from('\r\n', 'latin1'));
    }
    parts.push(Buffer.from(`--${boundary}--\r\n`, 'latin1'));
    const what = `storing ${items.length} instance(s)`;
    // 202 (some stored) and 409 (none stored) carry the answer's data set too.
    const answer = await this.#request('/studies', { method: 'POST', accept: JSON_TYPE, body: Buffer.concat(parts), contentType: `multipart/related; type="${PART10}"; boundary=${boundary}`, what, acceptStatus: (s) => s === 202 || s === 409 }, async (res, touch) => ({ status: res.status, body: await this.#json(res, touch, what) }));
    const ds = (Array.isArray(answer.body) ? answer.body[0] ?? {} : answer.body) as DicomJson;
    const failed = new Map(jsonItems(ds, TAG.failedSopSequence).map((f) => [jsonString(f, TAG.referencedSopInstanceUid) ?? '?', jsonNumber(f, TAG.failureReason)]));
    const stored = jsonItems(ds, TAG.referencedSopSequence).map((r) => jsonString(r, TAG.referencedSopInstanceUid)).filter((u): u is string => u !== undefined);
    const unconfirmed = items.filter((i) => !stored.includes(i.sopInstanceUid));
    if (failed.size > 0 || unconfirmed.length > 0 || answer.status === 409) {
      const why = (i: StoreItem) => (failed.has(i.sopInstanceUid) ? `failure reason 0x${(failed.get(i.sopInstanceUid) ?? 0).toString(16).toUpperCase()}` : 'not confirmed');
      const storedNames = items.filter((i) => stored.includes(i.sopInstanceUid)).map((i) => i.name);
      throw new CovsegError(
        `DICOMweb server ${this.url} did not store ${unconfirmed.length} of ${items.length} instance(s): ${unconfirmed.map((i) => `${i.name} (${why(i)})`).join(', ')}` +
          `; stored: ${storedNames.length ? storedNames.join(', ') : 'none'}`,
      );
    }
    const result: StoreResult = { stored };
    const retrieveUrl = jsonString(ds, '00081190');
    if (retrieveUrl) result.retrieveUrl = retrieveUrl;
    return result;
  }
}

/** The instances of a series differ between its metadata and what was retrieved. */
export class SeriesChangedError extends CovsegError {}

function enc(uid: string): string {
  return encodeURIComponent(uid);
}

function mib(bytes: number): string {
  return `${+(bytes / 2 ** 20).toPrecision(3)} MiB`;
}

function queryString(query: Record<string, string | string[]>): string {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) for (const x of Array.isArray(v) ? v : [v]) p.append(k, x);
  const s = p.toString();
  return s ? `?${s}` : '';
}
