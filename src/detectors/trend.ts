/**
 * Is a series rising, and how fast? A Theil–Sen slope (the median of the slopes between every
 * pair of points) with a Mann–Kendall test (do later points tend to be larger than earlier ones?).
 * Both are rank-based: one outlier, a GC's sawtooth step or a scrape that landed mid-spike moves
 * them little, where a least-squares line would follow it. Shared by the growth detectors
 * (heap-growth, goroutine-leak); callers choose a series the sawtooth does not reach, such as one
 * value per GC cycle.
 *
 * Mann–Kendall: S = Σ_{i<j} sign(y_j − y_i) over the points in time order. Without ties and with
 * n ≤ EXACT_MAX_POINTS, the p-value is exact: under "no trend" every order is equally likely and
 * S = n(n−1)/2 − 2·inversions, whose distribution is the Mahonian numbers (computed here as
 * probabilities, one factor per added point). Otherwise the normal approximation with the tie
 * correction of the variance and a continuity correction (Kendall 1975).
 *
 * Reference: Sen, P.K. (1968) "Estimates of the regression coefficient based on Kendall's tau",
 * JASA 63:1379; Mann (1945) Econometrica 13:245; Kendall, "Rank Correlation Methods" (1975).
 */

/** One observation of a time series: a value at a time (Unix ms). */
export interface TrendPoint {
  atMs: number
  value: number
}

export interface Trend {
  /** Points used (after sorting by time and dropping non-finite values). */
  n: number
  /** Theil–Sen slope, in value units per second. */
  perSecond: number
  /** The Theil–Sen line at the first and at the last point's time. */
  fittedStart: number
  fittedEnd: number
  /** Mann–Kendall S: concordant minus discordant pairs. */
  s: number
  /** One-sided p-values: the chance of an S this high (this low) if there were no trend. */
  pRising: number
  pFalling: number
  /** 'exact' (no ties, small n) or 'normal' (approximation with tie correction). */
  method: 'exact' | 'normal'
}

/** Up to this many points without ties, p comes from the exact distribution (≈ n³/6 operations). */
const EXACT_MAX_POINTS = 60
/**
 * Theil–Sen and Mann–Kendall take every pair (O(n²)): beyond this many points the series is
 * thinned evenly. 200 points are ~20k pairs, ample power for a trend; a fleet's 6 h at 30 s (721
 * points) took 13–23 ms an instance at 1000, and (200/721)² of the pairs is ~13× less work.
 */
const MAX_POINTS = 200

/**
 * The trend of a series, or undefined with fewer than two points at distinct times. Points need
 * not be sorted; two points at the same time are both kept for the test but give no slope.
 */
export function trendOf(points: readonly TrendPoint[]): Trend | undefined {
  const sorted = thin(
    points
      .filter(p => Number.isFinite(p.atMs) && Number.isFinite(p.value))
      .sort((a, b) => a.atMs - b.atMs),
  )
  const line = theilSen(sorted)
  if (!line) return undefined
  const mk = mannKendall(sorted.map(p => p.value))
  const first = sorted[0] as TrendPoint
  const last = sorted.at(-1) as TrendPoint
  return {
    n: sorted.length,
    perSecond: line.slope * 1000,
    fittedStart: line.intercept + line.slope * first.atMs,
    fittedEnd: line.intercept + line.slope * last.atMs,
    s: mk.s,
    pRising: mk.pRising,
    pFalling: mk.pFalling,
    method: mk.method,
  }
}

/** The Theil–Sen line (slope per ms), or undefined when no two points differ in time. */
export function theilSen(
  points: readonly TrendPoint[],
): { slope: number; intercept: number } | undefined {
  const slopes: number[] = []
  for (let i = 0; i < points.length; i++) {
    for (let j = i + 1; j < points.length; j++) {
      const a = points[i] as TrendPoint
      const b = points[j] as TrendPoint
      if (a.atMs !== b.atMs) slopes.push((b.value - a.value) / (b.atMs - a.atMs))
    }
  }
  if (slopes.length === 0) return undefined
  const slope = median(slopes)
  // Sen's intercept: the median of what each point says the line's value at time 0 is.
  const intercept = median(points.map(p => p.value - slope * p.atMs))
  return { slope, intercept }
}

export interface MannKendall {
  s: number
  pRising: number
  pFalling: number
  method: 'exact' | 'normal'
}

/** The Mann–Kendall test on values already in time order. */
export function mannKendall(values: readonly number[]): MannKendall {
  const n = values.length
  let s = 0
  for (let i = 0; i < n; i++) {
    for (let j = i + 1; j < n; j++) s += Math.sign((values[j] as number) - (values[i] as number))
  }
  if (n < 2) return { s: 0, pRising: 1, pFalling: 1, method: 'exact' }
  const ties = tieGroups(values)
  if (ties.length === 0 && n <= EXACT_MAX_POINTS) {
    return { s, pRising: exactTail(n, s), pFalling: exactTail(n, -s), method: 'exact' }
  }
  const tieTerm = ties.reduce((sum, t) => sum + t * (t - 1) * (2 * t + 5), 0)
  const variance = (n * (n - 1) * (2 * n + 5) - tieTerm) / 18
  if (variance <= 0) return { s, pRising: 1, pFalling: 1, method: 'normal' }
  const sd = Math.sqrt(variance)
  // Continuity correction: S moves in steps of 2 (of 1 with ties), and P(S ≥ s) ≈ P(Z ≥ (s−1)/σ).
  return {
    s,
    pRising: 1 - normalCdf((s - 1) / sd),
    pFalling: normalCdf((s + 1) / sd),
    method: 'normal',
  }
}

/** P(S ≥ s) with no ties: S = N − 2I, I the inversions of a random permutation of n. */
function exactTail(n: number, s: number): number {
  const pairs = (n * (n - 1)) / 2
  // S ≥ s ⇔ I ≤ (pairs − s) / 2.
  const maxInversions = Math.floor((pairs - s) / 2)
  if (maxInversions < 0) return 0
  if (maxInversions >= pairs) return 1
  // dist[i] = P(I = i) for the permutations of k elements; adding element k+1 adds 0..k
  // inversions, each with probability 1/(k+1).
  let dist = new Float64Array([1])
  for (let k = 1; k < n; k++) {
    const next = new Float64Array(dist.length + k)
    for (let i = 0; i < dist.length; i++) {
      const share = (dist[i] as number) / (k + 1)
      if (share === 0) continue
      for (let add = 0; add <= k; add++) next[i + add] = (next[i + add] as number) + share
    }
    dist = next
  }
  let p = 0
  for (let i = 0; i <= maxInversions; i++) p += dist[i] as number
  return Math.min(1, p)
}

/** Sizes of the groups of equal values, for groups of two or more. */
function tieGroups(values: readonly number[]): number[] {
  const counts = new Map<number, number>()
  for (const v of values) counts.set(v, (counts.get(v) ?? 0) + 1)
  return [...counts.values()].filter(c => c > 1)
}

function median(values: number[]): number {
  const sorted = values.sort((a, b) => a - b)
  const mid = sorted.length >> 1
  return sorted.length % 2 === 1
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2
}

/** Keeps MAX_POINTS points at even strides, first and last included. */
function thin(points: TrendPoint[]): TrendPoint[] {
  if (points.length <= MAX_POINTS) return points
  const step = (points.length - 1) / (MAX_POINTS - 1)
  return Array.from({ length: MAX_POINTS }, (_, i) => points[Math.round(i * step)] as TrendPoint)
}

/** Φ(z), from erf by Abramowitz & Stegun 7.1.26 (absolute error < 1.5e-7). */
export function normalCdf(z: number): number {
  const x = Math.abs(z) / Math.SQRT2
  const t = 1 / (1 + 0.3275911 * x)
  const poly =
    t *
    (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))))
  const erf = 1 - poly * Math.exp(-x * x)
  return z >= 0 ? (1 + erf) / 2 : (1 - erf) / 2
}
