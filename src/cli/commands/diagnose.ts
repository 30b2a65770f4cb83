import { stat } from 'node:fs/promises'
import { Option } from 'commander'
import { diagnose } from '../../detectors/diagnose.ts'
import { UsageError } from '../../errors.ts'
import type { Diagnosis } from '../../model/diagnosis.ts'
import { SEVERITY_RANK, type Severity } from '../../model/finding.ts'
import { formatBytes, parseBytes, parseDuration } from '../../model/units.ts'
import { renderJson } from '../../report/json.ts'
import { renderTerminal } from '../../report/terminal.ts'
import { type Assembled, assemble } from '../../sources/assemble.ts'
import { collect } from '../../sources/collect.ts'
import { loadLooseFiles } from '../../sources/loose-files.ts'
import {
  isCaptureDir,
  readCaptureDir,
  type SavedRun,
  writeCaptureDir,
} from '../../sources/transports/capture-dir.ts'
import type { CliCommand } from '../command.ts'
import { ExitCode } from '../exit-codes.ts'
import { writeHtmlReport } from '../html-report.ts'
import { progressLine } from '../progress.ts'
import { diagnoseFromPrometheus } from './fleet.ts'

interface DiagnoseFlags {
  pid?: string
  url?: string
  duration: string
  interval: string
  json?: boolean
  failOn?: Severity
  smapsMaxRss: string
  save?: string
  html?: string
  httpTimeout: string
  forceGc?: boolean
  prometheus?: string
  instance?: string
  selector?: string
  range?: string
  step?: string
  end?: string
}

export const diagnoseCommand: CliCommand = {
  register(program, done) {
    program
      .command('diagnose')
      .description('diagnose a live Go process (PID and/or URL) or a directory of captures')
      .argument('[target]', 'a PID, a base URL (http://127.0.0.1:6060), or a capture directory')
      .option('--pid <pid>', 'the process to read through /proc')
      .option('--url <url>', "the target's HTTP server (for /metrics, /debug/vars, /debug/pprof)")
      .option('--duration <d>', 'how long to sample', '30s')
      .option('--interval <d>', 'time between samples', '1s')
      .option('--json', 'print one JSON document on stdout, nothing else')
      .addOption(
        new Option('--fail-on <severity>', 'exit 1 when a finding is at least this severe').choices(
          ['warning', 'critical'],
        ),
      )
      .option(
        '--smaps-max-rss <size>',
        'read /proc/PID/smaps_rollup only while RSS is below this (the read stalls the target)',
        '16GiB',
      )
      .option(
        '--http-timeout <d>',
        'give up on an HTTP request to the target after this long',
        '5s',
      )
      .option('--force-gc', FORCE_GC_HELP)
      .option('--save <dir>', 'also write every raw capture to DIR, for replay with `diagnose DIR`')
      .option('--html <file>', 'also write a self-contained HTML report (charts, findings) to FILE')
      .option('--prometheus <url>', "read the target's history from a Prometheus server instead")
      .option('--instance <label>', "with --prometheus: the target's instance label")
      .option('--selector <matchers>', 'with --prometheus: more label matchers, \'{job="api"}\'')
      .option('--range <d>', 'with --prometheus: how far back to look (default 24h)')
      .option('--step <d>', 'with --prometheus: time between points (default: the range / 5000)')
      .option('--end <time>', 'with --prometheus: end of the window (default: now)')
      .addHelpText(
        'after',
        '\nExamples:\n  gomemdoctor diagnose 4242\n  gomemdoctor diagnose --pid 4242 --url http://127.0.0.1:6060 --duration 1m\n  gomemdoctor diagnose ./captured-run --json',
      )
      .action(async (target: string | undefined, flags: DiagnoseFlags) => {
        if (flags.prometheus !== undefined) {
          if (target !== undefined) throw new UsageError('give a target or --prometheus, not both')
          if (flags.forceGc)
            throw new UsageError('--force-gc needs a live target, not --prometheus')
          return done({
            exitCode: await diagnoseFromPrometheus({ ...flags, prometheus: flags.prometheus }),
          })
        }
        const run = await gather(target, flags)
        const diagnosis = diagnoseRun(run)
        const exitCode = report(run, flags, diagnosis)
        if (flags.html !== undefined) await writeHtmlReport(flags.html, run, diagnosis)
        done({ exitCode })
      })
  },
}

/** Reads the target, live or from captures, into the raw form every diagnosis starts from. */
async function gather(target: string | undefined, flags: DiagnoseFlags): Promise<SavedRun> {
  let pid = flags.pid === undefined ? undefined : parsePid(flags.pid)
  let url = flags.url === undefined ? undefined : parseUrl(flags.url)
  if (target !== undefined) {
    if (/^\d+$/.test(target)) pid = parsePid(target)
    else if (/^https?:\/\//i.test(target)) url = parseUrl(target)
    else {
      // Captures are replayed as they were read: nothing can be collected in them any more.
      if (flags.forceGc) throw new UsageError(`--force-gc needs a live target, not ${target}`)
      return readFiles(target)
    }
  }
  if (pid === undefined && url === undefined) {
    throw new UsageError(
      'diagnose needs a target: a PID, a URL, or a capture directory (see --help)',
    )
  }
  const durationMs = duration(flags.duration, '--duration')
  const intervalMs = duration(flags.interval, '--interval')
  const httpTimeoutMs = duration(flags.httpTimeout, '--http-timeout')
  if (intervalMs < 100) throw new UsageError('--interval must be at least 100ms')
  const smapsMaxRssBytes = parseBytes(flags.smapsMaxRss)
  if (smapsMaxRssBytes === undefined) {
    throw new UsageError(
      `--smaps-max-rss: cannot read "${flags.smapsMaxRss}" as a size (try 16GiB)`,
    )
  }

  // Ctrl-C ends the window early and still diagnoses; a second Ctrl-C quits at once.
  const abort = new AbortController()
  const onSigint = () => {
    if (abort.signal.aborted) process.exit(130)
    abort.abort()
  }
  process.on('SIGINT', onSigint)
  const progress = progressLine(process.stderr)
  const what = pid !== undefined ? `pid ${pid}` : url
  try {
    const collection = await collect({
      ...(pid === undefined ? {} : { pid }),
      ...(url === undefined ? {} : { url }),
      durationMs,
      intervalMs,
      smapsMaxRssBytes,
      httpTimeoutMs,
      forceGc: flags.forceGc === true,
      signal: abort.signal,
      onTick: tick => {
        const total = Math.floor(durationMs / intervalMs) + 1
        const rss = tick.rssBytes === undefined ? '' : ` · RSS ${formatBytes(tick.rssBytes)}`
        progress.update(
          `sampling ${what} · ${tick.index + 1}/${total}${rss} · Ctrl-C to stop early`,
        )
      },
    })
    const run: SavedRun = {
      ...collection,
      about: { command: `diagnose ${process.argv.slice(3).join(' ')}` },
    }
    if (flags.save !== undefined) await writeCaptureDir(flags.save, run)
    return run
  } finally {
    progress.clear()
    process.off('SIGINT', onSigint)
  }
}

async function readFiles(path: string): Promise<SavedRun> {
  let isDir: boolean
  try {
    isDir = (await stat(path)).isDirectory()
  } catch {
    throw new UsageError(`${path} is not a PID, a URL, or an existing capture directory or file`)
  }
  if (isDir && (await isCaptureDir(path))) return readCaptureDir(path)
  return loadLooseFiles(path)
}

/** Diagnoses, prints, and returns the exit code --fail-on asks for. */
export function report(
  run: SavedRun,
  flags: { json?: boolean; failOn?: Severity },
  result: Diagnosis = diagnoseRun(run),
): ExitCode {
  if (flags.json) process.stdout.write(renderJson(result))
  else {
    process.stdout.write(
      renderTerminal(result, {
        color: process.stdout.isTTY === true,
        width: Math.min(process.stdout.columns ?? 100, 100),
      }),
    )
  }
  const threshold = flags.failOn
  if (
    threshold &&
    result.findings.some(f => SEVERITY_RANK[f.severity] >= SEVERITY_RANK[threshold])
  ) {
    return ExitCode.Finding
  }
  return ExitCode.Ok
}

/** Diagnoses a run; `assembled` when its captures were assembled already (a streamed report). */
export function diagnoseRun(
  run: SavedRun,
  assembled: Assembled = assemble(run.captures),
): Diagnosis {
  const { gaps, ...evidence } = assembled
  return diagnose({
    ...evidence,
    gaps: [...run.gaps, ...gaps],
    sources: run.sources,
    notes: run.notes,
  })
}

/** --force-gc's help, the same for every command that samples a live target. */
export const FORCE_GC_HELP =
  "fetch the heap profiles at the window's start and end with ?gc=1, so the target runs a full GC first: they then show the live heap now, not as of the last GC, at the cost of a full GC in the target (a short stop-the-world plus GC CPU); samples after the start see the heap as that GC left it"

/**
 * The live target of a command that only samples (record, watch): a PID and/or a URL, from the
 * positional argument or --pid/--url. Throws UsageError naming the command otherwise.
 */
export function liveTarget(
  command: string,
  target: string | undefined,
  flags: { pid?: string; url?: string },
): { pid?: number; url?: string } {
  let pid = flags.pid === undefined ? undefined : parsePid(flags.pid)
  let url = flags.url === undefined ? undefined : parseUrl(flags.url)
  if (target !== undefined) {
    if (/^\d+$/.test(target)) pid = parsePid(target)
    else if (/^https?:\/\//i.test(target)) url = parseUrl(target)
    else throw new UsageError(`${command} needs a PID or a URL, not "${target}"`)
  }
  if (pid === undefined && url === undefined) {
    throw new UsageError(`${command} needs a target: a PID or a URL (see --help)`)
  }
  return { ...(pid === undefined ? {} : { pid }), ...(url === undefined ? {} : { url }) }
}

export function parsePid(text: string): number {
  const pid = Number(text)
  if (!/^\d+$/.test(text) || pid < 1 || pid > 2 ** 22)
    throw new UsageError(`"${text}" is not a PID`)
  return pid
}

export function parseUrl(text: string): string {
  try {
    const url = new URL(text)
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error('not http')
    return url.toString().replace(/\/+$/, '')
  } catch {
    throw new UsageError(`"${text}" is not an http(s) URL`)
  }
}

export function duration(text: string, flag: string): number {
  const ms = parseDuration(text)
  if (ms === undefined || ms <= 0)
    throw new UsageError(`${flag}: cannot read "${text}" as a duration (try 30s, 2m, 500ms)`)
  return ms
}
