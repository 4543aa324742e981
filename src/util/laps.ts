/** Stage times for reports: each `lap(name)` records the milliseconds since the previous lap (or the start). */
export function lapTimer(timingsMs: Record<string, number>, startMs = performance.now()): (name: string) => void {
  let t = startMs;
  return (name) => {
    const now = performance.now();
    // A stage timed in two parts (the pipeline's and its shell's) adds up.
    timingsMs[name] = (timingsMs[name] ?? 0) + Math.round(now - t);
    t = now;
  };
}
