/**
 * --fail-on, the same on every command that diagnoses (diagnose, report, fleet): which outcome
 * makes the exit code 1. `warning` and `critical` are the least severe finding that fails;
 * `inconclusive` fails what `warning` fails and also a diagnosis in which any detector could not
 * judge, for gates that pass only a process shown healthy rather than one nobody could check.
 */
import { Option } from 'commander'
import type { Diagnosis } from '../model/diagnosis.ts'
import { SEVERITY_RANK } from '../model/finding.ts'
import { ExitCode } from './exit-codes.ts'

export const FAIL_ON = ['warning', 'critical', 'inconclusive'] as const
export type FailOn = (typeof FAIL_ON)[number]

/** The option, with `what` naming the thing judged ("a finding", "an instance's finding"). */
export function failOnOption(what: string): Option {
  return new Option(
    '--fail-on <level>',
    `exit 1 when ${what} is at least this severe; inconclusive: also when a detector could not judge`,
  ).choices(FAIL_ON)
}

/** Whether one diagnosis fails the gate. */
export function fails(diagnosis: Diagnosis, threshold: FailOn): boolean {
  const least = SEVERITY_RANK[threshold === 'inconclusive' ? 'warning' : threshold]
  if (diagnosis.findings.some(f => SEVERITY_RANK[f.severity] >= least)) return true
  return threshold === 'inconclusive' && diagnosis.unjudged.length > 0
}

/** Exit 1 when any of the diagnoses fails the gate, else 0. */
export function exitCodeFor(diagnoses: readonly Diagnosis[], threshold?: FailOn): ExitCode {
  if (threshold === undefined) return ExitCode.Ok
  return diagnoses.some(d => fails(d, threshold)) ? ExitCode.Finding : ExitCode.Ok
}
