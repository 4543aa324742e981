/**
 * Pipeline messages as a web user reads them. The pipeline speaks to the CLI: it names files
 * by their path and says "pass --force"; on the web the file is the one the user uploaded
 * (the server's copy is detail) and force is the API's `force=1` or the page's checkbox.
 * Shared by the service (job errors) and the in-browser worker.
 */

/** The page's checkbox that sets force (src/web/page/index.html holds the same words; a test checks). */
export const FORCE_CHECKBOX_LABEL = 'segment even if the input checks fail';

/** `message` with the server's path `path` named `name`, the file the user gave. */
export function namedAsUploaded(message: string, path: string, name: string): string {
  return message.split(path).join(name);
}

/**
 * `message` with the CLI's "pass --force" said as the web does it: for a service job, upload
 * again with force=1 (the page's checkbox); in the browser mode, the checkbox alone.
 */
export function webForceHint(message: string, where: 'service' | 'browser'): string {
  const hint = where === 'service'
    ? `upload it again with force=1 (on the page: tick '${FORCE_CHECKBOX_LABEL}')`
    : `tick '${FORCE_CHECKBOX_LABEL}' and run it again`;
  return message.split('pass --force').join(hint);
}

/** A service job's error as its user reads it: the uploaded file's name for the server's copy `input`, force=1 for --force. */
export function webJobError(message: string, input: string, inputName: string | undefined): string {
  return webForceHint(inputName ? namedAsUploaded(message, input, inputName) : message, 'service');
}
