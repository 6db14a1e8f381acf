/**
 * Runs one step of a scenario; when it fails, the error names the step and
 * carries the tail of the processes' logs, so a failure explains itself.
 */
export async function explain<T>(
  step: string,
  logs: () => string,
  action: () => Promise<T>,
): Promise<T> {
  try {
    return await action();
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    throw new Error(`${step}: ${message}\n--- process output (tail) ---\n${logs().slice(-4000)}`, {
      cause: error,
    });
  }
}
