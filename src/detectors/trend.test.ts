import assert from 'node:assert/strict'
import { test } from 'node:test'
import { mannKendall, normalCdf, type TrendPoint, theilSen, trendOf } from './trend.ts'

const series = (values: readonly number[], everyMs = 1000): TrendPoint[] =>
  values.map((value, i) => ({ atMs: 1_700_000_000_000 + i * everyMs, value }))

/** clinic's xorshift with fixed seeds: the same "noise" every run. */
function xorshift(seed = [294915, 70470, 145110, 287911]): () => number {
  let [x, y, z, w] = seed as [number, number, number, number]
  return () => {
    const t = x ^ (x << 11)
    ;[x, y, z] = [y, z, w]
    w = (w ^ (w >>> 19) ^ (t ^ (t >>> 8))) >>> 0
    return w / 2 ** 32
  }
}

test('gives the exact p of a perfectly rising series: 1/n!', () => {
  assert.equal(mannKendall([1, 2, 3, 4]).pRising, 1 / 24)
  assert.equal(mannKendall([1, 2, 3, 4]).method, 'exact')
  assert.ok(Math.abs(mannKendall([1, 2, 3, 4, 5]).pRising - 1 / 120) < 1e-15)
  assert.equal(mannKendall([5, 4, 3, 2, 1]).pRising, 1)
  assert.ok(Math.abs(mannKendall([5, 4, 3, 2, 1]).pFalling - 1 / 120) < 1e-15)
})

test('agrees with counting every permutation of six values', () => {
  const permutations = (items: number[]): number[][] =>
    items.length <= 1
      ? [items]
      : items.flatMap((item, i) =>
          permutations([...items.slice(0, i), ...items.slice(i + 1)]).map(rest => [item, ...rest]),
        )
  const all = permutations([1, 2, 3, 4, 5, 6])
  const sOf = (values: number[]) => mannKendall(values).s
  for (const s of [-15, -7, -1, 1, 5, 9, 13, 15]) {
    const counted = all.filter(p => sOf(p) >= s).length / all.length
    const order = all.find(p => sOf(p) === s)
    assert.ok(order, `some order has S = ${s}`)
    assert.ok(Math.abs(mannKendall(order).pRising - counted) < 1e-12, `P(S ≥ ${s})`)
  }
})

test('rejects no trend at most 5% of the time on seeded noise (calibration)', () => {
  const random = xorshift()
  for (const n of [6, 12, 80]) {
    let rejected = 0
    for (let run = 0; run < 2000; run++) {
      const values = Array.from({ length: n }, () => random())
      if (mannKendall(values).pRising < 0.05) rejected++
    }
    // Exact tests are conservative (S is discrete); the approximation is close for n = 80.
    assert.ok(rejected / 2000 <= 0.06, `n=${n}: ${rejected} of 2000 rejected`)
    assert.ok(rejected / 2000 >= 0.025, `n=${n}: ${rejected} of 2000 rejected: too conservative`)
  }
})

test('treats ties with the corrected variance, and a flat series as no trend', () => {
  const flat = mannKendall([7, 7, 7, 7, 7, 7])
  assert.equal(flat.s, 0)
  assert.equal(flat.pRising, 1)
  const steps = mannKendall([1, 1, 2, 2, 3, 3, 4, 4])
  assert.equal(steps.method, 'normal')
  assert.equal(steps.s, 24)
  // Var = (8·7·21 − 4·(2·1·9)) / 18 = 61.33; z = 23 / 7.83 = 2.94.
  assert.ok(Math.abs(steps.pRising - (1 - normalCdf(23 / Math.sqrt(61 + 1 / 3)))) < 1e-12)
  assert.ok(steps.pRising < 0.01)
})

test('is not moved by one outlier, where a least-squares line would be', () => {
  const values = [10, 12, 14, 16, 18, 20, 22, 24, 26, 28]
  values[7] = 500
  const trend = trendOf(series(values))
  assert.ok(trend)
  assert.equal(trend.perSecond, 2)
  assert.ok(trend.pRising < 0.001)
})

test('reports the slope per second whatever the sampling interval', () => {
  const trend = trendOf(series([0, 1, 2, 3, 4, 5], 250))
  assert.equal(trend?.perSecond, 4)
  assert.equal(trend?.fittedStart, 0)
  assert.equal(trend?.fittedEnd, 5)
})

test('sorts points by time and ignores non-finite values', () => {
  const points = series([1, 2, Number.NaN, 4, 5]).reverse()
  const trend = trendOf(points)
  assert.equal(trend?.n, 4)
  assert.equal(trend?.perSecond, 1)
  assert.equal(trend?.s, 6)
})

test('has no trend with fewer than two points at distinct times', () => {
  assert.equal(trendOf([]), undefined)
  assert.equal(trendOf(series([3])), undefined)
  assert.equal(
    trendOf([
      { atMs: 5, value: 1 },
      { atMs: 5, value: 9 },
    ]),
    undefined,
  )
  assert.equal(theilSen([]), undefined)
})

test('computes Φ within 1e-7 of known values', () => {
  assert.ok(Math.abs(normalCdf(0) - 0.5) < 1e-7)
  assert.ok(Math.abs(normalCdf(1.959964) - 0.975) < 1e-7)
  assert.ok(Math.abs(normalCdf(-2.326348) - 0.01) < 1e-7)
})

test('thins a very long series evenly and still finds its slope', () => {
  const trend = trendOf(series(Array.from({ length: 5000 }, (_, i) => 3 * i)))
  assert.equal(trend?.n, 200)
  assert.ok(Math.abs((trend?.perSecond ?? 0) - 3) < 1e-9)
})
