import type { Diagnosis, Verdict } from '../model/diagnosis.ts'
import { type Finding, type FindingId, type Gap, SEVERITY_RANK } from '../model/finding.ts'
import { breakdownRss } from '../model/rss-breakdown.ts'
import type { Detector, DetectorInput } from './detector.ts'
import { DETECTORS } from './index.ts'

export interface DiagnoseInput extends DetectorInput {
  sources: string[]
  notes: string[]
}

/** Most important first: severity, then the bytes of RSS it explains, then confidence. */
export function rankFindings(findings: readonly Finding[]): Finding[] {
  return [...findings].sort(
    (a, b) =>
      SEVERITY_RANK[b.severity] - SEVERITY_RANK[a.severity] ||
      b.bytesExplained - a.bytesExplained ||
      b.confidence - a.confidence,
  )
}

/**
 * The verdict: the most important finding; without one, 'healthy' only when every detector
 * judged. A detector that could not judge may be hiding exactly what it looks for, so its silence
 * is 'inconclusive', never health.
 */
export function verdictOf(ranked: readonly Finding[], unjudged: readonly FindingId[]): Verdict {
  return ranked[0]?.id ?? (unjudged.length > 0 ? 'inconclusive' : 'healthy')
}

/**
 * Runs every detector on the same evidence and ranks what they found. Pure. A detector that
 * answers unknown adds a gap naming the signals it lacked, unless a gap already covers them.
 */
export function diagnose(
  input: DiagnoseInput,
  detectors: readonly Detector[] = DETECTORS,
): Diagnosis {
  const findings: Finding[] = []
  const unjudged: FindingId[] = []
  const gaps: Gap[] = input.gaps.map(gap => ({ ...gap }))
  const awaiting: { detectors: FindingId[]; inMs?: number } = { detectors: [] }
  for (const detector of detectors) {
    const outcome = detector.detect(input)
    if (outcome.kind === 'finding') findings.push(outcome.finding)
    if (outcome.kind === 'unknown') {
      unjudged.push(detector.id)
      if (outcome.awaitsGc) {
        awaiting.detectors.push(detector.id)
        const inMs = outcome.awaitsGc.inMs
        if (inMs !== undefined) awaiting.inMs = Math.min(awaiting.inMs ?? inMs, inMs)
      }
      if (outcome.reason !== undefined || outcome.missing.length === 0) {
        // The signals were read; the window itself did not allow a judgement.
        gaps.push({
          signal: detector.id,
          reason: outcome.reason ?? 'not enough evidence in this window',
          cost: `${detector.id} could not be judged`,
        })
        continue
      }
      const uncovered = outcome.missing.filter(signal => !gaps.some(gap => gap.signal === signal))
      for (const signal of uncovered) {
        gaps.push({ signal, reason: 'not read', cost: `${detector.id} could not be judged` })
      }
      for (const gap of gaps) {
        if (outcome.missing.includes(gap.signal as never) && !gap.cost.includes(detector.id)) {
          gap.cost += `; ${detector.id} could not be judged`
        }
      }
    }
  }
  const ranked = rankFindings(findings)
  const last = input.series.at(-1)
  // The window's last smaps read follows its last sample: together they measure the split.
  const rss = last
    ? breakdownRss(last, {
        ...(input.mappings ? { mappings: input.mappings.last } : {}),
        target: input.target,
      })
    : undefined
  const diagnosis: Diagnosis = {
    target: input.target,
    window: {
      startMs: input.series[0]?.atMs ?? 0,
      endMs: last?.atMs ?? 0,
      samples: input.series.length,
    },
    findings: ranked,
    gaps,
    unjudged,
    verdict: verdictOf(ranked, unjudged),
    sources: input.sources,
    notes: input.notes,
    series: [...input.series],
  }
  if (rss) diagnosis.rss = rss
  if (awaiting.detectors.length > 0) diagnosis.awaitingGc = awaiting
  return diagnosis
}
