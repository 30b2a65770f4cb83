import { Option } from 'commander'
import { InputError, UsageError } from '../../errors.ts'
import type { Severity } from '../../model/finding.ts'
import type { SavedRun } from '../../sources/transports/capture-dir.ts'
import { openStore } from '../../store/db.ts'
import { listRecordings, loadRecording } from '../../store/recordings.ts'
import type { CliCommand } from '../command.ts'
import { writeHtmlReport } from '../html-report.ts'
import { diagnoseRun, report } from './diagnose.ts'

interface ReportFlags {
  session?: string
  json?: boolean
  html?: string
  failOn?: Severity
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
      .addOption(
        new Option('--fail-on <severity>', 'exit 1 when a finding is at least this severe').choices(
          ['warning', 'critical'],
        ),
      )
      .addHelpText(
        'after',
        '\nExamples:\n  gomemdoctor report orders.db\n  gomemdoctor report orders.db --session 2 --html orders.html',
      )
      .action(async (file: string, flags: ReportFlags) => {
        const run = readRecording(file, flags.session)
        const diagnosis = diagnoseRun(run)
        const exitCode = report(run, flags, diagnosis)
        if (flags.html !== undefined) await writeHtmlReport(flags.html, run, diagnosis)
        done({ exitCode })
      })
  },
}

/** One session of a recording as the raw run every diagnosis starts from. */
export function readRecording(file: string, session: string | undefined): SavedRun {
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
    const loaded = loadRecording(db, file, chosen.id)
    return {
      captures: loaded.captures,
      gaps: loaded.gaps,
      notes: loaded.notes,
      sources: loaded.sources,
      about: { command: chosen.command, session: String(chosen.id) },
    }
  } finally {
    db.close()
  }
}
