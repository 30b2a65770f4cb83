import { formatBytes } from '../../model/units.ts'
import { collect } from '../../sources/collect.ts'
import type { SavedRun } from '../../sources/transports/capture-dir.ts'
import { type Db, openStore } from '../../store/db.ts'
import { appendCaptures, createRecording, finishRecording } from '../../store/recordings.ts'
import type { CliCommand } from '../command.ts'
import { type FailOn, failOnOption } from '../fail-on.ts'
import { writeHtmlReport } from '../html-report.ts'
import {
  duration,
  type LiveFlags,
  liveCollectOptions,
  liveTarget,
  withLiveOptions,
} from '../live-options.ts'
import { progressLine } from '../progress.ts'
import { diagnoseRun, report } from './diagnose.ts'
import { diagnoseRecording } from './report.ts'

interface RecordFlags extends LiveFlags {
  out: string
  duration?: string
  json?: boolean
  html?: string
  failOn?: FailOn
}

export const recordCommand: CliCommand = {
  register(program, done) {
    withLiveOptions(
      program
        .command('record')
        .description(
          'record a live Go process into an SQLite file, one committed sample at a time, then diagnose it',
        )
        .argument('[target]', 'a PID or a base URL (http://127.0.0.1:6060)')
        .requiredOption('--out <file>', 'the recording (created, or appended to as a new session)'),
    )
      .option('--duration <d>', 'how long to record (default: until Ctrl-C or the target exits)')
      .option('--json', 'at the end, print the diagnosis as one JSON document on stdout')
      .option('--html <file>', 'at the end, also write a self-contained HTML report to FILE')
      .addOption(failOnOption('a finding'))
      .addHelpText(
        'after',
        '\nEvery sample is committed as it is read: Ctrl-C, a crash or kill -9 loses at most the one in flight.\n\nExamples:\n  gomemdoctor record 4242 --out orders.db\n  gomemdoctor record http://127.0.0.1:6060 --out orders.db --duration 2h --interval 5s\n  gomemdoctor report orders.db --html orders.html',
      )
      .action(async (target: string | undefined, flags: RecordFlags) => {
        done({ exitCode: await record(target, flags) })
      })
  },
}

async function record(target: string | undefined, flags: RecordFlags) {
  const live = liveTarget('record', target, flags)
  const options = liveCollectOptions(live, flags)
  const durationMs =
    flags.duration === undefined ? Number.POSITIVE_INFINITY : duration(flags.duration, '--duration')
  const { pid, url } = live

  // The file is checked before the target is touched: a bad --out costs nothing.
  const db: Db = openStore(flags.out, { mode: 'write' })
  let recordingId: number | undefined
  let samples = 0
  const abort = new AbortController()
  const stop = () => {
    if (abort.signal.aborted) process.exit(130)
    abort.abort()
  }
  process.on('SIGINT', stop)
  process.on('SIGTERM', stop)
  const progress = progressLine(process.stderr)
  const what = pid !== undefined ? `pid ${pid}` : url
  let run: SavedRun
  try {
    const collection = await collect({
      ...options,
      durationMs,
      signal: abort.signal,
      // Each tick is committed as it is read; the diagnosis at the end reads them back.
      retainTicks: 1,
      onCaptures: (tick, captures, sofar) => {
        const set = sofar.captures
        const notes = {
          gaps: sofar.gaps,
          notes: sofar.notes,
          sources: sofar.sources,
          ...(set.pid === undefined ? {} : { pid: set.pid }),
          ...(set.url === undefined ? {} : { url: set.url }),
        }
        recordingId ??= createRecording(db, flags.out, {
          startedAtMs: Date.now(),
          command: `record ${process.argv.slice(3).join(' ')}`,
          ...(set.pid === undefined ? {} : { pid: set.pid }),
          ...(set.url === undefined ? {} : { url: set.url }),
        })
        const atMs = tick === 'once' ? 0 : (set.ticks.at(-1)?.atMs ?? Date.now())
        appendCaptures(db, flags.out, recordingId, tick, atMs, captures, notes)
        if (tick !== 'once') samples = tick + 1
      },
      onTick: tick => {
        const rss = tick.rssBytes === undefined ? '' : ` · RSS ${formatBytes(tick.rssBytes)}`
        progress.update(
          `recording ${what} into ${flags.out} · ${tick.index + 1} samples${rss} · Ctrl-C to stop`,
        )
      },
    })
    run = { ...collection, about: { command: `record ${process.argv.slice(3).join(' ')}` } }
    if (recordingId !== undefined) finishRecording(db, flags.out, recordingId, Date.now(), run)
  } finally {
    progress.clear()
    process.off('SIGINT', stop)
    process.off('SIGTERM', stop)
    db.close()
  }
  process.stderr.write(
    `gomemdoctor: recorded ${samples} sample${samples === 1 ? '' : 's'} into ${flags.out} (session ${recordingId}); replay with: gomemdoctor report ${flags.out} --session ${recordingId}\n`,
  )
  // The diagnosis is report's, of the session just committed: the same output `report` gives of
  // the file, and no tick held in memory while recording. A session without samples has
  // nothing to read back; its (empty) collection is diagnosed as it is.
  const { run: recorded, diagnosis } =
    recordingId !== undefined && samples > 0
      ? diagnoseRecording(flags.out, String(recordingId))
      : { run, diagnosis: diagnoseRun(run) }
  const exitCode = report(recorded, flags, diagnosis)
  if (flags.html !== undefined) await writeHtmlReport(flags.html, recorded, diagnosis)
  return exitCode
}
