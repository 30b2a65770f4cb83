import type { Evidence } from '../model/finding.ts'
import { formatBytes, formatDuration } from '../model/units.ts'

/** An evidence value for people: bytes in IEC units, ratios as percentages, seconds as durations. */
export function formatEvidenceValue(evidence: Evidence): string {
  if (typeof evidence.value === 'string') return evidence.value
  switch (evidence.unit) {
    case 'bytes':
      return formatBytes(evidence.value)
    case 'bytes/s':
      return `${formatBytes(evidence.value)}/s`
    case 'ratio':
      return `${Math.round(evidence.value * 100)}%`
    case 'seconds':
      return formatDuration(evidence.value * 1000)
    default:
      return String(evidence.value)
  }
}
