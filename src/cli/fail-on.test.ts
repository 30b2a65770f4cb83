import assert from 'node:assert/strict'
import { test } from 'node:test'
import type { Diagnosis } from '../model/diagnosis.ts'
import type { Severity } from '../model/finding.ts'
import { ExitCode } from './exit-codes.ts'
import { exitCodeFor, type FailOn } from './fail-on.ts'

function diagnosis(severity: Severity | undefined, unjudged: Diagnosis['unjudged']): Diagnosis {
  return {
    target: { sources: [] },
    window: { startMs: 0, endMs: 1000, samples: 2 },
    findings: severity
      ? [
          {
            id: 'heap-growth',
            severity,
            confidence: 0.9,
            title: '',
            summary: '',
            evidence: [],
            fixes: [],
            bytesExplained: 0,
          },
        ]
      : [],
    gaps: [],
    unjudged,
    verdict: severity ? 'heap-growth' : unjudged.length > 0 ? 'inconclusive' : 'healthy',
    sources: [],
    notes: [],
    series: [],
  }
}

test('--fail-on: warning and critical gate on findings; inconclusive also on what was not judged', () => {
  const cases: [Severity | undefined, Diagnosis['unjudged'], FailOn | undefined, ExitCode][] = [
    [undefined, [], 'inconclusive', ExitCode.Ok],
    [undefined, ['heap-growth'], 'inconclusive', ExitCode.Finding],
    [undefined, ['heap-growth'], 'warning', ExitCode.Ok],
    ['info', [], 'inconclusive', ExitCode.Ok],
    ['info', ['thp-bloat'], 'inconclusive', ExitCode.Finding],
    ['warning', [], 'inconclusive', ExitCode.Finding],
    ['warning', [], 'warning', ExitCode.Finding],
    ['warning', [], 'critical', ExitCode.Ok],
    ['critical', [], 'critical', ExitCode.Finding],
    ['critical', ['heap-growth'], undefined, ExitCode.Ok],
  ]
  for (const [severity, unjudged, threshold, expected] of cases) {
    assert.equal(
      exitCodeFor([diagnosis(severity, unjudged)], threshold),
      expected,
      `${severity ?? 'no finding'}, unjudged [${unjudged.join(', ')}], --fail-on ${threshold}`,
    )
  }
  assert.equal(
    exitCodeFor([diagnosis(undefined, []), diagnosis(undefined, ['heap-growth'])], 'inconclusive'),
    ExitCode.Finding,
  )
})
