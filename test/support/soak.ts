/**
 * How much longer the long-running reliability tests run: 1 in the ordinary suites (CI), more under
 * `npm run soak` (TT_SOAK_FACTOR=10). Counts (kills, fuzz runs) and their time budgets scale with it.
 */
export const SOAK_FACTOR = Math.max(1, Math.floor(Number(process.env["TT_SOAK_FACTOR"] ?? "1")) || 1);
