import { InputError, UsageError } from '../../errors.ts'
import type { Diagnosis } from '../../model/diagnosis.ts'
import { assemble } from '../../sources/assemble.ts'
import type { CaptureSet } from '../../sources/capture.ts'
import type { SavedRun } from '../../sources/transports/capture-dir.ts'
import { openStore } from '../../store/db.ts'
import { listRecordings, streamRecording } from '../../store/recordings.ts'
import type { CliCommand } from '../command.ts'
import { type FailOn, failOnOption } from '../fail-on.ts'
import { writeHtmlReport } from '../html-report.ts'
import { diagnoseRun, report } from './diagnose.ts'

interface ReportFlags {
  session?: string
  json?: boolean
  html?: string
  failOn?: FailOn
}

export const reportCommand: CliCommand = {
  register(program, done) {
    program
      .command('report')
      .description(
        'diagnose a recording again, through the same parsers and detectors as the live run',
      )
      .argument('<file>', 'a recording made by `gomemdoctor record`')
      .option('--session <n>', 'which recording session in the file (default: the last)')
      .option('--json', 'print one JSON document on stdout, the same `diagnose --json` prints')
      .option('--html <file>', 'also write a self-contained HTML report to FILE')
      .addOption(failOnOption('a finding'))
      .addHelpText(
        'after',
        '\nExamples:\n  gomemdoctor report orders.db\n  gomemdoctor report orders.db --session 2 --html orders.html',
      )
      .action(async (file: string, flags: ReportFlags) => {
        const { run, diagnosis } = diagnoseRecording(file, flags.session)
        const exitCode = report(run, flags, diagnosis)
        if (flags.html !== undefined) await writeHtmlReport(flags.html, run, diagnosis)
        done({ exitCode })
      })
  },
}

/**
 * One session of a recording, diagnosed as `report` prints it. Its ticks are streamed from the
 * file through assemble() (the path live runs take), so a day-long recording is never in
 * memory at once. The run returned keeps the read-once captures, the notes, and of the ticks
 * only the two holding the heap profiles at the window's edges: what the HTML report reads again.
 */
export function diagnoseRecording(
  file: string,
  session: string | undefined,
): { run: SavedRun; diagnosis: Diagnosis } {
  if (session !== undefined && !/^[1-9]\d*$/.test(session)) {
    throw new UsageError(`--session: "${session}" is not a session number`)
  }
  const db = openStore(file, { mode: 'read' })
  try {
    const sessions = listRecordings(db, file)
    const last = sessions.at(-1)
    if (!last) throw new InputError(`${file}: holds no recording session`)
    const chosen = session === undefined ? last : sessions.find(s => s.id === Number(session))
    if (!chosen) {
      throw new InputError(
        `${file}: has no session ${session} (it has ${sessions.map(s => s.id).join(', ')})`,
      )
    }
    if (sessions.length > 1 && session === undefined) {
      process.stderr.write(
        `gomemdoctor: ${file} holds ${sessions.length} sessions; reporting the last, ${chosen.id} (--session N for another)\n`,
      )
    }
    if (chosen.ticks === 0) throw new InputError(`${file}: session ${chosen.id} has no samples`)
    const loaded = streamRecording(db, file, chosen.id)
    const heapTicks: CaptureSet['ticks'] = []
    function* ticks() {
      for (const tick of loaded.captures.ticks) {
        // The first tick holding a heap profile, and the latest one after it.
        if (tick.captures.some(c => c.kind === 'pprof-heap')) {
          heapTicks[heapTicks.length === 0 ? 0 : 1] = tick
        }
        yield tick
      }
    }
    const assembled = assemble({ ...loaded.captures, ticks: ticks() })
    const run: SavedRun = {
      captures: { ...loaded.captures, ticks: heapTicks },
      gaps: loaded.gaps,
      notes: loaded.notes,
      sources: loaded.sources,
      about: { command: chosen.command, session: String(chosen.id) },
    }
    return { run, diagnosis: diagnoseRun(run, assembled) }
  } finally {
    db.close()
  }
}
