import { InputError, UsageError } from '../../errors.ts'
import {
  bucketGoroutines,
  type GoroutineBucket,
  type GoroutineGroups,
  SIMILARITIES,
  type Similarity,
} from '../../model/goroutine-buckets.ts'
import { type GoroutineDump, goroutinesFromProfile } from '../../model/goroutines.ts'
import type { RawCapture } from '../../sources/capture.ts'
import {
  type GoroutineTextOptions,
  GoroutineTextParser,
  parseGoroutineText,
} from '../../sources/formats/goroutine-text.ts'
import { parsePprof } from '../../sources/formats/pprof.ts'
import type { CliCommand } from '../command.ts'
import { ExitCode } from '../exit-codes.ts'
import { isUrl, readInput, readInputChunks } from '../read-input.ts'

const SCHEMA_VERSION = 1

interface Flags {
  similarity: string
  buckets: string
  json?: boolean
}

export const goroutinesCommand: CliCommand = {
  register(program, done) {
    program
      .command('goroutines')
      .description('group goroutine stacks into buckets: what is parked where, how many, how long')
      .argument(
        '<dump>',
        'a debug=2 or debug=1 dump, a log with a panic or SIGQUIT dump, a proto goroutine profile, or a URL (a base URL reads the proto /debug/pprof/goroutine, the cheapest for the target)',
      )
      .option(
        '--similarity <level>',
        `how alike stacks must be to share a bucket: ${SIMILARITIES.join(', ')}`,
        'any-value',
      )
      .option('-n, --buckets <count>', 'buckets to show (the JSON has all)', '10')
      .option('--json', 'print one JSON document')
      .action(async (source: string, flags: Flags) => {
        if (!SIMILARITIES.includes(flags.similarity as Similarity))
          throw new UsageError(
            `--similarity ${flags.similarity}: expected one of ${SIMILARITIES.join(', ')}`,
          )
        const limit = Number(flags.buckets)
        if (!Number.isInteger(limit) || limit < 1)
          throw new UsageError(`-n ${flags.buckets}: expected a positive whole number`)
        const similarity = flags.similarity as Similarity
        const dump = isUrl(source)
          ? parseDump(
              await readInput(source, 'goroutine-text', '/debug/pprof/goroutine'),
              similarity,
            )
          : await parseDumpFile(source, similarity)
        const groups = bucketGoroutines(dump, similarity)
        const text = flags.json
          ? JSON.stringify({ schemaVersion: SCHEMA_VERSION, ...groups }, null, 2)
          : render(groups, limit)
        process.stdout.write(`${text}\n`)
        done({ exitCode: ExitCode.Ok })
      })
  },
}

/**
 * Proto (gzip or raw protobuf) or text, told apart by the first byte. Bucketing by any value
 * ignores arguments, so the text parser need not keep them (goroutines then share frames).
 */
export function parseDump(capture: RawCapture, similarity?: Similarity): GoroutineDump {
  if (isProtoStart(capture.bytes[0])) {
    const profile = parsePprof(capture.bytes, capture.origin)
    if (profile.sampleTypes[0]?.type !== 'goroutine')
      throw new InputError(
        `${capture.origin}: a ${profile.sampleTypes.map(t => t.type).join('/')} profile, not a goroutine profile`,
      )
    return goroutinesFromProfile(profile)
  }
  return parseGoroutineText(capture.bytes, capture.origin, textOptions(similarity))
}

/**
 * A dump file as parseDump reads it, parsed as it is read: the text forms a chunk at a time (a
 * 227 MiB debug=2 dump is never held whole); a proto profile (small) is gathered and decoded whole.
 */
export async function parseDumpFile(path: string, similarity?: Similarity): Promise<GoroutineDump> {
  const atMs = Date.now()
  let text: GoroutineTextParser | undefined
  const proto: Buffer[] = []
  await readInputChunks(path, (chunk, room) => {
    if (text) return text.push(chunk, room)
    if (proto.length > 0 || isProtoStart(chunk[room])) proto.push(Buffer.from(chunk.subarray(room)))
    else {
      text = new GoroutineTextParser(path, textOptions(similarity))
      text.push(chunk, room)
    }
  })
  if (proto.length > 0)
    return parseDump(
      { kind: 'goroutine-text', origin: path, atMs, bytes: Buffer.concat(proto) },
      similarity,
    )
  // An empty file: the text parser's error.
  return (text ?? new GoroutineTextParser(path)).finish()
}

/** A proto profile's first byte, gzipped (0x1f) or raw (field 1's tag); text starts otherwise. */
const isProtoStart = (byte: number | undefined) => byte === 0x1f || byte === 0x0a

/**
 * Bucketing by any value ignores arguments, so the text parser need not keep them; by any
 * pointer, it may merge frames whose arguments differ only in pointers.
 */
function textOptions(similarity: Similarity | undefined): GoroutineTextOptions {
  return { args: similarity !== 'any-value', maskPointers: similarity === 'any-pointer' }
}

function render(groups: GoroutineGroups, limit: number): string {
  const lines = [
    `${groups.source} · ${groups.form} · ${groups.total.toLocaleString('en-US')} goroutines in ${groups.buckets.length.toLocaleString('en-US')} buckets (similarity ${groups.similarity})`,
  ]
  if (groups.reason) lines.push(`reason: ${groups.reason}`)
  if (groups.truncated)
    lines.push(`TRUNCATED: ${groups.truncated}; the counts below miss the goroutines after the cut`)
  if (groups.form === 'debug=1' || groups.form === 'proto')
    lines.push('(this form carries no goroutine states or wait times; a debug=2 dump has them)')
  for (const bucket of groups.buckets.slice(0, limit)) lines.push('', ...renderBucket(bucket))
  const rest = groups.buckets.slice(limit)
  if (rest.length > 0) {
    const count = rest.reduce((n, b) => n + b.count, 0)
    lines.push(
      '',
      `… ${rest.length} more buckets with ${count.toLocaleString('en-US')} goroutines (-n to show more, --json for all)`,
    )
  }
  return lines.join('\n')
}

function renderBucket(b: GoroutineBucket): string[] {
  const wait =
    b.maxWaitMinutes === 0
      ? ''
      : b.minWaitMinutes === b.maxWaitMinutes
        ? `, ${b.maxWaitMinutes} min`
        : `, ${b.minWaitMinutes}–${b.maxWaitMinutes} min`
  const locked = b.locked > 0 ? `, ${b.locked} locked to thread` : ''
  const state = b.state === '' ? '' : ` [${b.state}${wait}${locked}]`
  const head = `${b.count.toLocaleString('en-US')}${state}  ${b.site ? b.site.func : '(no frames)'}`
  const frames = b.frames.map(
    f => `    ${f.func}${f.args === '' ? '' : `(${f.args})`}  ${f.file}:${f.line}`,
  )
  if (b.elided) frames.push('    …additional frames elided…')
  if (b.createdBy)
    frames.push(`  created by ${b.createdBy.func}  ${b.createdBy.file}:${b.createdBy.line}`)
  return [head, ...frames]
}
