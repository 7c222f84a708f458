/**
 * Several upstream calls for one request (a legacy completions request with a list of prompts), run with bounded
 * parallelism. The first failure aborts the others and stops new ones from starting; what finished is kept, so
 * the caller can charge it.
 */

export interface FanOutOutcome<T> {
  /** Per task, in task order: its result, or undefined when it failed, was aborted or never started. */
  results: (T | undefined)[];
  /** The first failure (the one that aborted the rest), with its task's index. */
  failure?: { index: number; error: unknown };
}

/**
 * Runs `run(i, signal)` for i in [0, count) with at most `limit` in flight. `signal` aborts when `parent` does
 * (the client left) or once a task has failed.
 */
export async function fanOut<T>(
  count: number,
  limit: number,
  parent: AbortSignal,
  run: (index: number, signal: AbortSignal) => Promise<T>,
): Promise<FanOutOutcome<T>> {
  const stop = new AbortController();
  const signal = AbortSignal.any([parent, stop.signal]);
  const outcome: FanOutOutcome<T> = { results: new Array<T | undefined>(count).fill(undefined) };
  let next = 0;
  let finished = 0;
  async function worker(): Promise<void> {
    while (next < count && !signal.aborted) {
      const index = next++;
      try {
        outcome.results[index] = await run(index, signal);
        finished++;
      } catch (error) {
        // Later failures are mostly the abort this one caused; the first is the request's error.
        if (!outcome.failure) {
          outcome.failure = { index, error };
          stop.abort(error);
        }
      }
    }
  }
  await Promise.all(Array.from({ length: Math.min(limit, count) }, worker));
  // The client left between two tasks: nothing failed, but some never ran.
  if (!outcome.failure && finished < count) outcome.failure = { index: -1, error: parent.reason };
  return outcome;
}
