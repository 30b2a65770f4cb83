import { randomBytes } from 'node:crypto'
import { diagnose } from '../../detectors/diagnose.ts'
import { UsageError } from '../../errors.ts'
import type { Diagnosis } from '../../model/diagnosis.ts'
import type { Gap } from '../../model/finding.ts'
import type { MemorySnapshot } from '../../model/snapshot.ts'
import { renderHtmlPage } from '../../report/html/page.ts'
import { samplePoint, toReportView } from '../../report/html/view-model.ts'
import { isLoopback, type LiveEvent, startLiveServer } from '../../report/live/server.ts'
import { type Assembled, assemble } from '../../sources/assemble.ts'
import type { CaptureSet, RawCapture } from '../../sources/capture.ts'
import { type Collection, collect } from '../../sources/collect.ts'
import type { CliCommand } from '../command.ts'
import { ExitCode } from '../exit-codes.ts'
import { clientAssets } from '../html-report.ts'
import { type LiveFlags, liveCollectOptions, liveTarget, withLiveOptions } from '../live-options.ts'

interface WatchFlags extends LiveFlags {
  host: string
  port: string
  allowRemote?: boolean
  token?: string
}

/** The diagnosis is redone at most this often: detectors walk the whole series each time. */
const DIAGNOSE_EVERY_MS = 2000

export const watchCommand: CliCommand = {
  register(program, done) {
    withLiveOptions(
      program
        .command('watch')
        .description('a live dashboard of a Go process in the browser, on 127.0.0.1')
        .argument('[target]', 'a PID or a base URL (http://127.0.0.1:6060)'),
    )
      .option('--port <port>', 'the dashboard port (0: any free port)', '0')
      .option('--host <addr>', 'the address to listen on', '127.0.0.1')
      .option('--allow-remote', 'allow a non-loopback --host; every request then needs the token')
      .option('--token <token>', 'the token for --allow-remote (default: a random one, printed)')
      .addHelpText(
        'after',
        '\nExamples:\n  gomemdoctor watch 4242\n  gomemdoctor watch http://127.0.0.1:6060 --port 7070',
      )
      .action(async (target: string | undefined, flags: WatchFlags) => {
        done({ exitCode: await watch(target, flags) })
      })
  },
}

async function watch(target: string | undefined, flags: WatchFlags): Promise<ExitCode> {
  const options = liveCollectOptions(liveTarget('watch', target, flags), flags)
  const port = Number(flags.port)
  if (!/^\d+$/.test(flags.port) || port > 65535) {
    throw new UsageError(`--port: "${flags.port}" is not a port number`)
  }
  let token = flags.token
  if (!isLoopback(flags.host)) {
    if (!flags.allowRemote) {
      throw new UsageError(
        `--host ${flags.host} is not a loopback address: anyone who reaches it sees the target's memory; add --allow-remote (a token is then required)`,
      )
    }
    token ??= randomBytes(18).toString('base64url')
  }
  if (token !== undefined && !/^[\w.~-]{16,}$/.test(token)) {
    throw new UsageError('--token: use at least 16 letters, digits, or - _ . ~')
  }

  const assets = await clientAssets()
  const live = new LiveDiagnosis()
  const server = await startLiveServer({
    host: flags.host,
    port,
    ...(token === undefined ? {} : { token }),
    page: eventsUrl => renderHtmlPage(live.view(), assets, { eventsUrl }),
    greeting: () => [{ event: 'view', data: live.view() }],
  })
  process.stdout.write(`gomemdoctor: dashboard at ${server.url}\n`)

  const abort = new AbortController()
  const stop = () => {
    if (abort.signal.aborted) process.exit(130)
    abort.abort()
  }
  process.on('SIGINT', stop)
  process.on('SIGTERM', stop)
  try {
    const collection = await collect({
      ...options,
      durationMs: Number.POSITIVE_INFINITY,
      followFastGc: true,
      signal: abort.signal,
      // LiveDiagnosis assembles each tick as it arrives and keeps its own bounded window.
      retainTicks: 1,
      onCaptures: (tick, captures, run) => {
        for (const event of live.add(tick, captures, run)) server.broadcast(event)
      },
    })
    server.broadcast(live.findings(collection))
    if (!abort.signal.aborted) {
      process.stderr.write(
        `gomemdoctor: ${collection.notes.at(-1) ?? 'sampling ended'}; the dashboard stays up until Ctrl-C\n`,
      )
      await new Promise<void>(resolve => abort.signal.addEventListener('abort', () => resolve()))
    }
  } finally {
    process.off('SIGINT', stop)
    process.off('SIGTERM', stop)
    await server.close()
  }
  return ExitCode.Ok
}

/**
 * The live diagnosis looks at the latest this-many samples: an hour at the default 1 s interval.
 * Enough for the detectors' trends (heap growth over GC cycles, a goroutine count that climbs)
 * to show while a problem is being reproduced, and bounded: a dashboard left open for a day
 * holds ~3,600 snapshots (a few MB), not 86,400, and each redone diagnosis (every 2 s) walks an
 * hour, not the day. The whole window is what `record` is for.
 */
export const LIVE_WINDOW_SAMPLES = 3600

/**
 * The diagnosis kept up to date tick by tick: each tick is assembled alone (assemble() is the
 * same pure function a report uses) and appended, so a long session costs one tick per tick.
 * Only the latest LIVE_WINDOW_SAMPLES snapshots and the first tick (for its edge captures:
 * smaps, heap and goroutine profiles) are kept.
 */
export class LiveDiagnosis {
  private series: MemorySnapshot[] = []
  private base: Assembled | undefined
  private firstTick: CaptureSet['ticks'][number] | undefined
  private ticks = 0
  private parseGaps: Gap[] = []
  private run: Collection | undefined
  private diagnosis: Diagnosis | undefined
  private diagnosedAt = 0

  constructor(private readonly windowSamples = LIVE_WINDOW_SAMPLES) {}

  /** How many snapshots are held now: never more than the window. */
  get retained(): number {
    return this.series.length
  }

  add(tick: number | 'once', captures: readonly RawCapture[], run: Collection): LiveEvent[] {
    this.run = run
    if (tick === 'once') return []
    const set = run.captures
    // collect() hands over its latest tick; the watch keeps no more of them.
    const current = set.ticks.at(-1)
    if (!current) return []
    if (tick === 0 || !this.base) {
      this.firstTick = { atMs: current.atMs, captures: [...current.captures] }
      this.base = assemble({ ...set, ticks: [this.firstTick] })
      this.parseGaps = [...this.base.gaps]
    }
    if (tick < this.ticks) {
      // The last tick's end captures: the edges now span the window, first tick to last.
      if (this.firstTick) {
        this.base = assemble({
          ...set,
          ticks: [this.firstTick, { atMs: current.atMs, captures: [...captures] }],
        })
        this.addGaps(this.base.gaps)
      }
      return []
    }
    this.ticks = tick + 1
    const assembled = assemble({
      once: [],
      ticks: [{ atMs: current.atMs, captures: [...captures] }],
    })
    this.addGaps(assembled.gaps)
    const snapshot = assembled.series[0]
    if (!snapshot) return []
    const previous = this.series.at(-1)
    this.series.push(snapshot)
    if (this.series.length > this.windowSamples) {
      this.series.splice(0, this.series.length - this.windowSamples)
    }
    const events: LiveEvent[] = [{ event: 'sample', data: samplePoint(snapshot, previous) }]
    if (Date.now() - this.diagnosedAt >= DIAGNOSE_EVERY_MS || this.series.length === 1) {
      events.push(this.findings(run))
    }
    return events
  }

  private addGaps(gaps: readonly Gap[]): void {
    for (const gap of gaps) {
      if (!this.parseGaps.some(g => g.signal === gap.signal)) this.parseGaps.push(gap)
    }
  }

  /** Redoes the diagnosis now, as a `findings` event: everything but the charts. */
  findings(run: Collection): LiveEvent {
    this.run = run
    this.diagnosis = this.diagnose()
    this.diagnosedAt = Date.now()
    const { series: _series, flame: _flame, ...text } = this.view()
    return { event: 'findings', data: text }
  }

  view() {
    this.diagnosis ??= this.diagnose()
    return toReportView(this.diagnosis, { mode: 'live', generatedAtMs: Date.now() })
  }

  private diagnose(): Diagnosis {
    const base = this.base
    const run = this.run
    const {
      gaps: _gaps,
      series: _series,
      ...evidence
    } = base ?? {
      target: { sources: [] },
      series: [],
      gaps: [],
    }
    return diagnose({
      ...evidence,
      series: this.series,
      gaps: [...(run?.gaps ?? []), ...this.parseGaps],
      sources: run?.sources ?? [],
      notes: [
        ...(run?.notes ?? []),
        ...(this.ticks > this.series.length
          ? [
              `the live diagnosis covers the latest ${this.series.length} of ${this.ticks} samples; \`gomemdoctor record\` keeps them all`,
            ]
          : []),
      ],
    })
  }
}
