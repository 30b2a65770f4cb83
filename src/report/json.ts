import type { Diagnosis, Verdict } from '../model/diagnosis.ts'
import type { Finding, FindingId, Gap } from '../model/finding.ts'
import type { RssBreakdown } from '../model/rss-breakdown.ts'
import type { RssSplit } from '../model/rss-split.ts'

/**
 * Bumped when a field changes meaning or disappears; adding fields does not bump it. 2: `verdict`
 * may be 'inconclusive' (no finding, some detector could not judge), which version 1 called
 * 'healthy'.
 */
export const SCHEMA_VERSION = 2

/** The --json document (DESIGN.md "Contracts"). Bytes are raw numbers; times are ISO 8601. */
export interface JsonReport {
  schemaVersion: number
  target: {
    pid?: number
    url?: string
    name?: string
    goVersion?: string
    godebug?: string
    gogc?: string
    gomemlimit?: string
    kernel?: string
  }
  window: { start: string; end: string; samples: number }
  rss: {
    bytes: number
    breakdown: { key: string; label: string; bytes: number }[]
    /** Go, non-Go and file-backed bytes; `exact` and `reason` say how they were had. */
    split?: RssSplit
    unseparated?: string
  } | null
  /** The model's findings as they are: every field is already JSON (bytes raw, sources named). */
  findings: Finding[]
  gaps: Gap[]
  /** Detectors that could not judge (a signal was missing, or the window too short). */
  unjudged: FindingId[]
  /** The first finding's id; else 'inconclusive' while `unjudged` is not empty; else 'healthy'. */
  verdict: Verdict
  sources: string[]
  notes: string[]
}

export function toJsonReport(diagnosis: Diagnosis): JsonReport {
  const { target } = diagnosis
  const pick = <K extends keyof typeof target>(key: K) =>
    target[key] === undefined ? {} : { [key]: target[key] }
  return {
    schemaVersion: SCHEMA_VERSION,
    target: {
      ...pick('pid'),
      ...pick('url'),
      ...pick('name'),
      ...pick('goVersion'),
      ...pick('godebug'),
      ...pick('gogc'),
      ...pick('gomemlimit'),
      ...pick('kernel'),
    },
    window: {
      start: new Date(diagnosis.window.startMs).toISOString(),
      end: new Date(diagnosis.window.endMs).toISOString(),
      samples: diagnosis.window.samples,
    },
    rss: diagnosis.rss ? jsonRss(diagnosis.rss) : null,
    findings: diagnosis.findings.map(finding => ({
      id: finding.id,
      severity: finding.severity,
      confidence: finding.confidence,
      title: finding.title,
      summary: finding.summary,
      evidence: finding.evidence,
      fixes: finding.fixes,
      ...(finding.whatIf ? { whatIf: finding.whatIf } : {}),
      bytesExplained: finding.bytesExplained,
      ...(finding.resolvedDuringWindow ? { resolvedDuringWindow: true } : {}),
    })),
    gaps: diagnosis.gaps,
    unjudged: diagnosis.unjudged,
    verdict: diagnosis.verdict,
    sources: diagnosis.sources,
    notes: diagnosis.notes,
  }
}

function jsonRss(rss: RssBreakdown): NonNullable<JsonReport['rss']> {
  return {
    bytes: rss.rssBytes,
    breakdown: rss.slices.map(({ key, label, bytes }) => ({ key, label, bytes })),
    ...(rss.split ? { split: { ...rss.split } } : {}),
    ...(rss.unseparated ? { unseparated: rss.unseparated } : {}),
  }
}

export function renderJson(diagnosis: Diagnosis): string {
  return `${JSON.stringify(toJsonReport(diagnosis), null, 2)}\n`
}
