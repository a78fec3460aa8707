// One bounded poll for tests that wait on a running command (its /status, its files, its output).

/**
 * Polls `check` every 100 ms until it returns a value other than undefined/false, at most `timeoutMs`; throws with
 * `what` (and the last error `check` threw) when the time runs out.
 */
export async function until<T>(what: string, check: () => T | undefined | false | Promise<T | undefined | false>, timeoutMs = 20_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < end) {
    try {
      const v = await check();
      if (v !== undefined && v !== false) return v;
    } catch (e) {
      last = e;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}${last ? ` (last error: ${(last as Error).message})` : ''}`);
}
