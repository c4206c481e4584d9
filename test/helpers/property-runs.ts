/**
 * The number of runs of a property: as the test asks, or fewer when TJ_PROPERTY_RUNS caps it (the
 * mutation run re-runs every property once per mutant and sets a small budget).
 */
export function propertyRuns(wanted: number): number {
  const cap = Number(process.env.TJ_PROPERTY_RUNS);
  return Number.isInteger(cap) && cap > 0 ? Math.min(wanted, cap) : wanted;
}
