/** A minimal client of covseg serve's API for the web tests and the load benchmark. */
import { readFile } from 'node:fs/promises';
import type { JobJson } from '../../src/web/server.js';

export interface Answer<T = Record<string, unknown>> {
  status: number;
  headers: Headers;
  body: T;
}

export async function getJson<T = Record<string, unknown>>(url: string, init: RequestInit = {}): Promise<Answer<T>> {
  const response = await fetch(url, init);
  return { status: response.status, headers: response.headers, body: (await response.json()) as T };
}

/** POSTs `bytes` as the form's file `name` to `${base}/api/jobs${query}`. */
export function postUpload(base: string, bytes: Uint8Array, name: string, query = ''): Promise<Answer<JobJson & { code?: string; message?: string }>> {
  const form = new FormData();
  form.append('file', new Blob([new Uint8Array(bytes)]), name);
  return getJson(`${base}/api/jobs${query}`, { method: 'POST', body: form });
}

export async function uploadPath(base: string, path: string, name = path.split('/').pop()!, query = ''): ReturnType<typeof postUpload> {
  return postUpload(base, new Uint8Array(await readFile(path)), name, query);
}

/** Polls job `id` until it is done or failed; throws after `timeoutMs`. */
export async function waitForJob(base: string, id: string, timeoutMs = 60_000, pollMs = 100): Promise<JobJson> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { body } = await getJson<JobJson>(`${base}/api/jobs/${id}`);
    if (body.status === 'done' || body.status === 'failed') return body;
    if (Date.now() > deadline) throw new Error(`job ${id} still ${body.status} (${body.stage ?? '-'}) after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, pollMs));
  }
}
