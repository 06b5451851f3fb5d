/** Waiting on a condition with a deadline: tests never sleep blindly. */
import { setTimeout as sleep } from 'node:timers/promises';

/**
 * Polls `check` until it returns a value other than undefined/false, and returns that value.
 * On timeout it throws with `what` and the last value seen, so a failure says what was missing.
 */
export async function waitFor<T>(
  what: string,
  check: () => Promise<T | undefined | false> | T | undefined | false,
  options: { timeoutMs?: number; intervalMs?: number; describe?: () => unknown } = {},
): Promise<T> {
  const deadline = Date.now() + (options.timeoutMs ?? 30_000);
  let lastError: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined && value !== false) return value;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() > deadline) {
      const detail = options.describe ? ` (last state: ${JSON.stringify(options.describe())})` : '';
      const cause = lastError instanceof Error ? `; last error: ${lastError.message}` : '';
      throw new Error(
        `timed out after ${options.timeoutMs ?? 30_000} ms waiting for ${what}${detail}${cause}`,
      );
    }
    await sleep(options.intervalMs ?? 100);
  }
}
