import type { Page } from 'playwright-core';

/**
 * A row's height on the runs page: RUN_ROW_HEIGHT_PX in apps/web's runs-list.tsx (`tr.run-row`).
 * Every row has it, whatever it holds, so the list's virtualizer never moves other rows.
 */
export const RUN_ROW_HEIGHT_PX = 90;

/** How long a run's page may take to show its title after its link is clicked. */
const RUN_PAGE_TIMEOUT_MS = 10_000;

/**
 * Opens a run from the runs list by clicking its link, as a user does, and waits for its page.
 * A run registering meanwhile is inserted above (newest first) and moves the list under the
 * pointer: if that happens between the press and the release, the click may open no run or
 * another. Either fails here within RUN_PAGE_TIMEOUT_MS, saying what the page shows; callers
 * that start runs together wait for every row first.
 */
export async function openRunFromList(page: Page, sessionId: string): Promise<void> {
  await page
    .locator(`[data-testid="session-row"][data-session-id="${sessionId}"]`)
    .getByRole('link', { name: sessionId, exact: true })
    .click();
  const title = page.getByTestId('session-title');
  const opened = await title
    .waitFor({ timeout: RUN_PAGE_TIMEOUT_MS })
    .then(() => title.textContent())
    .catch(() => undefined);
  if (opened !== sessionId) {
    throw new Error(
      `clicked the link of run ${sessionId}, but the page ${
        opened === undefined ? `opened no run (it is at ${page.url()})` : `opened run ${opened}`
      }`,
    );
  }
}
