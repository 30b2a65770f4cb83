import { spawn } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import type { JsonReport } from '../../src/report/json.ts'

const BIN = fileURLToPath(new URL('../../bin/gomemdoctor.js', import.meta.url))

export interface CliRun {
  /** The exit code; null when the process was killed by a signal. */
  code: number | null
  out: string
  err: string
}

export interface RunOptions {
  cwd?: string
  /** The whole environment; the test process's own by default. */
  env?: NodeJS.ProcessEnv
  /** Killed after this long, and the run rejected; a minute by default. */
  timeoutMs?: number
}

/** Runs a command to its end, collecting stdout and stderr as text. */
export function runProcess(
  command: string,
  args: readonly string[],
  options: RunOptions = {},
): Promise<CliRun> {
  const timeoutMs = options.timeoutMs ?? 60_000
  return new Promise((resolve, reject) => {
    const child = spawn(command, [...args], {
      cwd: options.cwd,
      env: options.env ?? process.env,
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let out = ''
    let err = ''
    child.stdout.setEncoding('utf8').on('data', chunk => {
      out += chunk
    })
    child.stderr.setEncoding('utf8').on('data', chunk => {
      err += chunk
    })
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      reject(new Error(`${command} ${args.join(' ')} took over ${timeoutMs / 1000} s\n${err}`))
    }, timeoutMs)
    child.once('error', reject)
    child.once('close', code => {
      clearTimeout(timer)
      resolve({ code, out, err })
    })
  })
}

/** Runs the real binary in a child process, as a user would, for at most a minute. */
export function runCli(...argv: string[]): Promise<CliRun> {
  return runCliFor(60_000, ...argv)
}

/** runCli for a run that takes longer by design (a 60 s window): at most `timeoutMs`. */
export function runCliFor(timeoutMs: number, ...argv: string[]): Promise<CliRun> {
  return runProcess(process.execPath, [BIN, ...argv], { timeoutMs })
}

/** stdout as the one JSON document it must be. */
export function parseJsonOut(result: CliRun): JsonReport {
  try {
    return JSON.parse(result.out) as JsonReport
  } catch {
    throw new Error(
      `stdout is not one JSON document (exit ${result.code}):\n${result.out}\n${result.err}`,
    )
  }
}

/**
 * Runs the CLI with --json and parses stdout, which must be exactly one JSON document; and, for
 * every diagnosis any test reads, one whose verdict keeps the contract: never 'healthy' while a
 * detector could not judge.
 */
export async function runJson(
  args: readonly string[],
  timeoutMs = 60_000,
): Promise<{ result: CliRun; report: JsonReport }> {
  const result = await runCliFor(timeoutMs, ...args, '--json')
  const report = parseJsonOut(result)
  assertHonestVerdict(report, args.join(' '))
  return { result, report }
}

/** The verdict contract (README "JSON"): findings first, then inconclusive, then healthy. */
export function assertHonestVerdict(
  report: Pick<JsonReport, 'verdict' | 'unjudged' | 'findings'>,
  what: string,
): void {
  const expected =
    report.findings[0]?.id ?? (report.unjudged.length > 0 ? 'inconclusive' : 'healthy')
  if (report.verdict !== expected) {
    throw new Error(
      `${what}: verdict ${report.verdict} with findings [${report.findings.map(f => f.id)}] and unjudged [${report.unjudged}]; expected ${expected}`,
    )
  }
}

type JsonFinding = JsonReport['findings'][number]
type JsonEvidence = JsonFinding['evidence'][number]

/** The finding's evidence item `label`, which must be there. */
export function evidenceOf(finding: JsonFinding, label: string): JsonEvidence {
  const item = finding.evidence.find(e => e.label === label)
  if (!item)
    throw new Error(`no evidence ${label} in ${finding.id}: ${JSON.stringify(finding.evidence)}`)
  return item
}

/** evidenceOf for an item whose value must be a number. */
export function numericEvidence(
  finding: JsonFinding,
  label: string,
): JsonEvidence & { value: number } {
  const item = evidenceOf(finding, label)
  if (typeof item.value !== 'number')
    throw new Error(
      `evidence ${label} in ${finding.id} is ${JSON.stringify(item.value)}, not a number`,
    )
  return item as JsonEvidence & { value: number }
}

/** A /proc field read with a plain regex: an independent check on gomemdoctor's parsers. */
export function procKiB(pid: number, file: 'status' | 'smaps_rollup', field: string): number {
  const text = readFileSync(`/proc/${pid}/${file}`, 'utf8')
  const match = new RegExp(`^${field}:\\s+(\\d+) kB$`, 'm').exec(text)
  if (!match) throw new Error(`no ${field} in /proc/${pid}/${file}`)
  return Number(match[1]) * 1024
}

/** |a − b| within `fraction` of b. */
export function within(a: number, b: number, fraction: number): boolean {
  return Math.abs(a - b) <= fraction * Math.abs(b)
}
