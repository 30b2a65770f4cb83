import { stat } from 'node:fs/promises'
import { diagnose } from '../../detectors/diagnose.ts'
import { UsageError } from '../../errors.ts'
import type { Diagnosis } from '../../model/diagnosis.ts'
import { formatBytes } from '../../model/units.ts'
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
import type { ExitCode } from '../exit-codes.ts'
import { exitCodeFor, type FailOn, failOnOption } from '../fail-on.ts'
import { gcWait } from '../gc-wait.ts'
import { writeHtmlReport } from '../html-report.ts'
import {
  duration,
  type LiveFlags,
  liveCollectOptions,
  liveTarget,
  refuseLiveOnlyFlags,
  withLiveOptions,
} from '../live-options.ts'
import { progressLine } from '../progress.ts'
import { diagnoseFromPrometheus } from './fleet.ts'

interface DiagnoseFlags extends LiveFlags {
  duration: string
  maxDuration?: string
  json?: boolean
  failOn?: FailOn
  save?: string
  html?: string
  prometheus?: string
  instance?: string
  selector?: string
  range?: string
  step?: string
  end?: string
}

export const diagnoseCommand: CliCommand = {
  register(program, done) {
    withLiveOptions(
      program
        .command('diagnose')
        .description('diagnose a live Go process (PID and/or URL) or a directory of captures')
        .argument('[target]', 'a PID, a base URL (http://127.0.0.1:6060), or a capture directory'),
    )
      .option('--duration <d>', 'how long to sample', '30s')
      .option(
        '--max-duration <d>',
        'when a detector is one GC cycle short of a judgement at the end of --duration, sample on until that cycle is seen, up to this long (default: twice --duration; the same as --duration never extends)',
      )
      .option('--json', 'print one JSON document on stdout, nothing else')
      .addOption(failOnOption('a finding'))
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
          refuseLiveOnlyFlags(flags, '--prometheus')
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
  if (target !== undefined && !/^\d+$/.test(target) && !/^https?:\/\//i.test(target)) {
    // Captures are replayed as they were read: nothing can be collected in them any more.
    refuseLiveOnlyFlags(flags, target)
    return readFiles(target)
  }
  const live = liveTarget('diagnose', target, flags, 'a PID, a URL, or a capture directory')
  const options = liveCollectOptions(live, flags)
  const durationMs = duration(flags.duration, '--duration')
  const maxDurationMs =
    flags.maxDuration === undefined ? 2 * durationMs : duration(flags.maxDuration, '--max-duration')
  if (maxDurationMs < durationMs)
    throw new UsageError(
      `--max-duration ${flags.maxDuration} is shorter than --duration ${flags.duration}`,
    )
  const { pid, url } = live

  // Ctrl-C ends the window early and still diagnoses; a second Ctrl-C quits at once.
  const abort = new AbortController()
  const onSigint = () => {
    if (abort.signal.aborted) process.exit(130)
    abort.abort()
  }
  process.on('SIGINT', onSigint)
  const progress = progressLine(process.stderr)
  const what = pid !== undefined ? `pid ${pid}` : url
  const wait = gcWait({
    durationMs,
    maxDurationMs,
    intervalMs: options.intervalMs,
    diagnose: collection => diagnoseRun({ ...collection, about: {} }),
    progress,
  })
  try {
    const collection = await collect({
      ...options,
      durationMs,
      followFastGc: true,
      signal: abort.signal,
      extendWhile: wait.extendWhile,
      onTick: tick => {
        const total = Math.floor(durationMs / options.intervalMs) + 1
        const rss = tick.rssBytes === undefined ? '' : ` · RSS ${formatBytes(tick.rssBytes)}`
        const doing = wait.status(tick.elapsedMs) ?? `${tick.index + 1}/${total}`
        progress.update(`sampling ${what} · ${doing}${rss} · Ctrl-C to stop early`)
      },
    })
    const waited = wait.note()
    if (waited) collection.notes.push(waited)
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
  flags: { json?: boolean; failOn?: FailOn },
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
  return exitCodeFor([result], flags.failOn)
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
