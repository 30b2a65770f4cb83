import { writeFile } from 'node:fs/promises'
import type { Command } from 'commander'
import { InputError, UsageError } from '../../errors.ts'
import { diffProfiles, IncompatibleProfiles } from '../../model/heap-diff.ts'
import { type Profile, sampleTypeIndex } from '../../model/heap-profile.ts'
import {
  modelSamples,
  type ProfileTables,
  type TopReport,
  type TopSamples,
  topOfSamples,
} from '../../model/heap-top.ts'
import { formatBytes } from '../../model/units.ts'
import { toSpeedscope } from '../../report/speedscope.ts'
import {
  DECODE_WHILE_INFLATING_FROM,
  parsePprofAsync,
  parsePprofChunksSamplesUnstored,
  parsePprofForPasses,
} from '../../sources/formats/pprof.ts'
import { encodeProfileGzip } from '../../sources/formats/pprof-encode.ts'
import { fileChunks } from '../../sources/transports/files.ts'
import type { CliCommand } from '../command.ts'
import { ExitCode } from '../exit-codes.ts'
import { gzipFileArg, readInput } from '../read-input.ts'

const SCHEMA_VERSION = 1

interface TopFlags {
  sampleIndex?: string
  nodes: string
  cum?: boolean
  json?: boolean
  speedscope?: string
}

interface DiffFlags extends TopFlags {
  normalize?: boolean
  output?: string
}

export const profileCommand: CliCommand = {
  register(program, done) {
    const profile = program
      .command('profile')
      .description(
        'where the bytes come from: top and diff of pprof heap profiles (or any pprof profile)',
      )
    withTopOptions(
      profile
        .command('top')
        .description('the functions holding the most, like `go tool pprof -top`')
        .argument('<profile>', 'a .pb.gz file, or a URL (a base URL reads /debug/pprof/heap)')
        .option(
          '--speedscope <file>',
          'also write the profile in speedscope format (https://www.speedscope.app)',
        ),
    ).action(async (source: string, flags: TopFlags) => {
      let report: TopReport
      let written = ''
      if (flags.speedscope) {
        const p = await load(source)
        report = top(p, modelSamples(p), flags)
        const typeIndex = sampleTypeIndex(p, report.sampleType.type)
        await writeFile(flags.speedscope, JSON.stringify(toSpeedscope(p, typeIndex, 'gomemdoctor')))
        written = `\nwrote ${report.sampleType.type} to ${flags.speedscope} (open it at https://www.speedscope.app)\n`
      } else {
        const { profile, samples } = await loadForTop(source)
        report = top(profile, samples, flags)
      }
      print(flags.json ? json({ ...report }) : `${table(report)}${written}`)
      done({ exitCode: ExitCode.Ok })
    })
    withTopOptions(
      profile
        .command('diff')
        .description('what grew between two profiles, like `go tool pprof -base BASE NEW`')
        .argument('<base>', 'the earlier profile (file or URL)')
        .argument('<new>', 'the later profile (file or URL)')
        .option(
          '--normalize',
          'scale NEW to the total of BASE first, to compare shapes (pprof -normalize)',
        )
        .option('--output <file>', 'also write the diff as a profile that `go tool pprof` opens'),
    ).action(async (baseSource: string, newSource: string, flags: DiffFlags) => {
      // Both inflate on the thread pool at once; base's error, if any, is the one reported.
      const [base, next] = await both(load(baseSource), load(newSource))
      let diff: Profile
      try {
        diff = diffProfiles(base, next, flags.normalize ? { normalize: true } : {})
      } catch (error) {
        if (error instanceof IncompatibleProfiles)
          throw new InputError(`${baseSource} and ${newSource}: ${error.message}`)
        throw error
      }
      if (flags.output) await writeFile(flags.output, encodeProfileGzip(diff))
      const report = top(diff, modelSamples(diff), flags)
      const extra = { base: base.source, new: next.source, normalized: flags.normalize === true }
      const written = flags.output
        ? `\nwrote the diff to ${flags.output} (go tool pprof ${flags.output})\n`
        : ''
      print(flags.json ? json({ ...report, ...extra }) : `${table(report)}${written}`)
      done({ exitCode: ExitCode.Ok })
    })
  },
}

function withTopOptions(command: Command): Command {
  return command
    .option(
      '--sample-index <type>',
      'sample type by name or position (default: inuse_space, else the profile default)',
    )
    .option('-n, --nodes <count>', 'rows to show', '20')
    .option('--cum', 'sort by cumulative value instead of flat')
    .option('--json', 'print one JSON document')
}

async function load(source: string): Promise<Profile> {
  const capture = await readInput(source, 'pprof-heap', '/debug/pprof/heap')
  // top and diff read no labels: skipping them is ~50 ms on a 1M-sample profile.
  return parsePprofAsync(capture.bytes, capture.origin, undefined, { labels: false })
}

/**
 * The profile for top's passes over its samples (parsePprofForPasses): a gzipped file that
 * inflates to less than DECODE_WHILE_INFLATING_FROM is inflated as it is read, its compressed
 * bytes never held whole; anything else is read whole first.
 */
async function loadForTop(
  source: string,
): Promise<{ profile: ProfileTables; samples: TopSamples }> {
  // top reads no labels: skipping them is ~50 ms on a 1M-sample profile.
  const options = { labels: false }
  const file = await gzipFileArg(source)
  if (file && file.isize < DECODE_WHILE_INFLATING_FROM)
    return parsePprofChunksSamplesUnstored(
      fileChunks(file.path),
      file.size,
      file.isize,
      file.path,
      undefined,
      options,
    )
  const capture = await readInput(source, 'pprof-heap', '/debug/pprof/heap')
  return parsePprofForPasses(capture.bytes, capture.origin, undefined, options)
}

/** Both values once both have settled; else the first one's error, then the second's. */
async function both<A, B>(first: Promise<A>, second: Promise<B>): Promise<[A, B]> {
  const [a, b] = await Promise.allSettled([first, second])
  if (a.status === 'rejected') throw a.reason
  if (b.status === 'rejected') throw b.reason
  return [a.value, b.value]
}

function top(profile: ProfileTables, samples: TopSamples, flags: TopFlags): TopReport {
  const limit = Number(flags.nodes)
  if (!Number.isInteger(limit) || limit < 1)
    throw new UsageError(`-n ${flags.nodes}: expected a positive whole number`)
  // Heap profiles answer "what is live now" by default, as go tool pprof does.
  const sampleType =
    flags.sampleIndex ??
    (profile.sampleTypes.some(t => t.type === 'inuse_space') ? 'inuse_space' : undefined)
  try {
    return topOfSamples(profile, samples, {
      ...(sampleType ? { sampleType } : {}),
      limit,
      sortBy: flags.cum ? 'cum' : 'flat',
    })
  } catch (error) {
    if (error instanceof RangeError) throw new UsageError(`--sample-index: ${error.message}`)
    throw error
  }
}

function print(text: string): void {
  process.stdout.write(text.endsWith('\n') ? text : `${text}\n`)
}

function json(document: object): string {
  return JSON.stringify({ schemaVersion: SCHEMA_VERSION, ...document }, null, 2)
}

/** pprof's -top layout, with bytes in IEC units. */
function table(report: TopReport): string {
  const { unit, type } = report.sampleType
  const value = (v: number) =>
    unit === 'bytes'
      ? formatBytes(v)
      : `${v.toLocaleString('en-US')}${unit === 'count' ? '' : ` ${unit}`}`
  const pct = (v: number) => `${v.toFixed(2)}%`
  const shown = report.rows.reduce((sum, r) => sum + r.flat, 0)
  const lines = [
    `${report.source} · ${type} (${unit}) · total ${value(report.total)}`,
    `showing ${report.rows.length} of ${report.nodeCount} functions, ${value(shown)} flat (${pct(report.total === 0 ? 0 : (100 * shown) / report.total)})`,
  ]
  const cells = report.rows.map(r => [
    value(r.flat),
    pct(r.flatPercent),
    pct(r.sumPercent),
    value(r.cum),
    pct(r.cumPercent),
    r.name,
  ])
  const header = ['flat', 'flat%', 'sum%', 'cum', 'cum%', '']
  const widths = header.map((h, i) =>
    Math.max(h.length, ...cells.map(c => (c[i] as string).length)),
  )
  const row = (c: string[]) =>
    c
      .map((cell, i) => (i === c.length - 1 ? cell : cell.padStart(widths[i] as number)))
      .join('  ')
      .trimEnd()
  lines.push(row(header), ...cells.map(row))
  return lines.join('\n')
}
