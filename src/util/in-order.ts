/**
 * `Promise.all` with a deterministic failure: every promise is awaited, and when some
 * reject, the error thrown is that of the first one *in argument order*, not the first to
 * settle. Two broken files read in parallel then always name the same file (which one
 * fails first in time depends on the machine's load).
 */
export async function allInOrder<T extends readonly unknown[] | []>(promises: T): Promise<{ -readonly [K in keyof T]: Awaited<T[K]> }> {
  const settled = (await Promise.allSettled(promises)) as PromiseSettledResult<unknown>[];
  const values: unknown[] = [];
  for (const s of settled) {
    if (s.status === 'rejected') throw s.reason;
    values.push(s.value);
  }
  return values as { -readonly [K in keyof T]: Awaited<T[K]> };
}
