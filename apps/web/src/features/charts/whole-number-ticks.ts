/**
 * Axis increments for whole-number x values (steps, epochs): 1, 2, 5, 10, 20,
 * 50 ... up to 5e9. A tick at "2.5" would name no batch and no epoch.
 */
export const WHOLE_NUMBER_INCREMENTS: number[] = Array.from({ length: 10 }, (_, power) =>
  [1, 2, 5].map((step) => step * 10 ** power),
).flat();
