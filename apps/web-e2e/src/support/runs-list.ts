/**
 * A row's height on the runs page: RUN_ROW_HEIGHT_PX in apps/web's runs-list.tsx (`tr.run-row`).
 * Every row has it, whatever it holds, so the list's virtualizer never moves other rows.
 */
export const RUN_ROW_HEIGHT_PX = 90;
