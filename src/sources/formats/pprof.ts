/**
 * pprof profile.proto, gzipped (what /debug/pprof/heap, /allocs and /goroutine serve) or raw:
 * the entry points. pprof-decoder.ts does the decoding; this file checks what it was given and
 * feeds it, inflating on the thread pool while the decoder works when the caller can wait.
 */
import { Readable } from 'node:stream'
import { createGunzip, type Gunzip, gunzipSync } from 'node:zlib'
import { InputError } from '../../errors.ts'
import type { Profile } from '../../model/heap-profile.ts'
import { modelSamples, type ProfileTables, type TopSamples } from '../../model/heap-top.ts'
import { formatBytes } from '../../model/units.ts'
import type { RawCapture } from '../capture.ts'
import type { Format } from './format.ts'
import { type DecodeOptions, ProfileDecoder } from './pprof-decoder.ts'
import { ProtoError } from './pprof-wire.ts'
import { looksLikeHtml } from './sniff.ts'

/** Inflated size limit: a bigger profile would not fit the typed arrays anyway (zip bombs). */
const MAX_INFLATED_BYTES = 1024 * 1024 * 1024

function sniff(head: string): boolean {
  return head.charCodeAt(0) === 0x1f || head.charCodeAt(0) === 0x0a
}

export const pprofHeapFormat: Format<Profile> = {
  kind: 'pprof-heap',
  sniff,
  parse: capture => parsePprof(capture.bytes, capture.origin),
}

export const pprofGoroutineFormat: Format<Profile> = {
  kind: 'pprof-goroutine',
  sniff,
  parse: (capture: RawCapture) => parsePprof(capture.bytes, capture.origin),
}

/**
 * Decodes a profile; throws InputError naming `source` and the problem in one line. A gzipped
 * profile that inflates past `maxInflatedBytes` (a zip bomb) is refused.
 */
export function parsePprof(
  bytes: Uint8Array,
  source: string,
  maxInflatedBytes = MAX_INFLATED_BYTES,
  options: DecodeOptions = {},
): Profile {
  const buf = inflatedWhole(bytes, source, maxInflatedBytes)
  return namingSource(source, () => {
    const decoder = new ProfileDecoder(source, buf.length, options)
    decoder.push(buf)
    return decoder.finish()
  })
}

/**
 * parsePprof without the samples stored: the tables, and the samples as bytes that each pass
 * decodes again (pprof-decoder.ts keepSamples: false). For a reader of passes that keeps no
 * sample, `profile top`: a deep profile's 5.2M frames would be 21 MiB as location indexes, more
 * than its inflated bytes (14.7 MiB), which the passes read instead. The same errors as
 * parsePprof, one line naming `source`; a sample's own error comes from the first pass over it.
 */
export function parsePprofSamplesUnstored(
  bytes: Uint8Array,
  source: string,
  maxInflatedBytes = MAX_INFLATED_BYTES,
  options: DecodeOptions = {},
): { profile: ProfileTables; samples: TopSamples } {
  return unstored(inflatedWhole(bytes, source, maxInflatedBytes), source, options)
}

/**
 * From this inflated size on, decoding the samples while the rest inflates (parsePprofAsync,
 * which stores them) is faster than passes over bytes that can start only once all are
 * inflated: the wide 1M-sample profile (62–65 MiB) takes 0.8–0.9 s unstored against ~0.5 s
 * stored, the deep one (15 MiB) gains nothing from the overlap and stored needs 110 MiB against
 * 85. Between the two shapes; nothing in between was measured.
 */
export const DECODE_WHILE_INFLATING_FROM = 32 * 2 ** 20

/**
 * The profile for a reader of passes over its samples (`profile top`): unstored
 * (parsePprofSamplesUnstored), or from DECODE_WHILE_INFLATING_FROM inflated bytes on decoded as
 * it inflates and stored. The same report either way; errors as parsePprof's.
 */
export async function parsePprofForPasses(
  bytes: Uint8Array,
  source: string,
  maxInflatedBytes = MAX_INFLATED_BYTES,
  options: DecodeOptions = {},
  decodeWhileInflatingFrom = DECODE_WHILE_INFLATING_FROM,
): Promise<{ profile: ProfileTables; samples: TopSamples }> {
  if (isGzip(bytes) && trailerSize(bytes) >= decodeWhileInflatingFrom) {
    const profile = await parsePprofAsync(bytes, source, maxInflatedBytes, options)
    return { profile, samples: modelSamples(profile) }
  }
  return parsePprofSamplesUnstored(bytes, source, maxInflatedBytes, options)
}

/**
 * parsePprofSamplesUnstored of a gzip stream read in chunks (a file being read): the compressed
 * bytes are never held whole (a deep profile's 2.9 MiB; a wide one's 45 MiB), and the inflated
 * ones are one buffer when `isize` (the trailer's) is right.
 */
export async function parsePprofChunksSamplesUnstored(
  chunks: AsyncIterable<Uint8Array>,
  compressedSize: number,
  isize: number,
  source: string,
  maxInflatedBytes = MAX_INFLATED_BYTES,
  options: DecodeOptions = {},
): Promise<{ profile: ProfileTables; samples: TopSamples }> {
  const gunzip = createGunzip(chunkFor(compressedSize, isize, maxInflatedBytes))
  const input = Readable.from(chunks)
  input.once('error', error => gunzip.destroy(error))
  input.pipe(gunzip)
  // The fields before the tables (the samples' spans) are found while the rest inflates.
  const decoder = new ProfileDecoder(source, sizeHint(compressedSize, isize, maxInflatedBytes), {
    ...options,
    keepSamples: false,
  })
  await pushInflated(gunzip, decoder, maxInflatedBytes, () => input.destroy())
  return namingSource(source, () => passesOf(decoder))
}

function unstored(
  buf: Buffer,
  source: string,
  options: DecodeOptions,
): { profile: ProfileTables; samples: TopSamples } {
  return namingSource(source, () => {
    const decoder = new ProfileDecoder(source, buf.length, { ...options, keepSamples: false })
    decoder.push(buf)
    return passesOf(decoder)
  })
}

/** The tables of a keepSamples: false decoder's profile, and its samples for passes. */
function passesOf(decoder: ProfileDecoder): { profile: ProfileTables; samples: TopSamples } {
  const { samples: _none, ...profile } = decoder.finish()
  const passes = decoder.samples(profile)
  const { source } = decoder
  const samples: TopSamples = {
    forEach: (typeIndex, visit) => namingSource(source, () => passes.forEach(typeIndex, visit)),
    leafSums: typeIndex => namingSource(source, () => passes.leafSums(typeIndex)),
    markFrames: (typeIndex, state, visit) =>
      namingSource(source, () => passes.markFrames(typeIndex, state, visit)),
  }
  return { profile, samples }
}

/**
 * The profile's bytes in one buffer, inflated when gzipped: sized from the gzip trailer, zlib
 * writes them into one buffer, where its default 16 KiB chunks end in a copy of all of them
 * (a deep profile: 62 MiB peak RSS against 80, 32 ms against 57).
 */
function inflatedWhole(bytes: Uint8Array, source: string, maxInflatedBytes: number): Buffer {
  if (bytes.byteLength === 0) throw new InputError(`${source}: empty file, not a pprof profile`)
  let raw = bytes
  if (isGzip(bytes)) {
    try {
      raw = gunzipSync(bytes, {
        maxOutputLength: maxInflatedBytes,
        ...chunkFor(bytes.length, trailerSize(bytes), maxInflatedBytes),
      })
    } catch (error) {
      throw gunzipError(error, source, maxInflatedBytes)
    }
    if (raw.length === 0) throw new InputError(`${source}: empty gzip stream, not a pprof profile`)
  }
  return checked(raw, source)
}

/**
 * parsePprof for big inputs: inflates on the thread pool, one chunk ahead of the decoder, so the
 * two take the time of the slower rather than their sum (a 1M-sample profile's 0.12–0.18 s of
 * inflating hides behind its ~0.3 s of decoding).
 */
export async function parsePprofAsync(
  bytes: Uint8Array,
  source: string,
  maxInflatedBytes = MAX_INFLATED_BYTES,
  options: DecodeOptions = {},
): Promise<Profile> {
  if (!isGzip(bytes)) return parsePprof(bytes, source, maxInflatedBytes, options)
  const gunzip = createGunzip({ chunkSize: 1 << 20 })
  gunzip.end(bytes)
  const decoder = new ProfileDecoder(source, inflatedSize(bytes, maxInflatedBytes), options)
  await pushInflated(gunzip, decoder, maxInflatedBytes)
  return namingSource(source, () => decoder.finish())
}

/**
 * Pushes what `gunzip` inflates into `decoder` as it comes, refusing text, an empty stream and
 * more than `maxInflatedBytes`; on any failure destroys the stream (and runs `stop`, for what
 * feeds it) and throws one line naming the decoder's source.
 */
async function pushInflated(
  gunzip: Gunzip,
  decoder: ProfileDecoder,
  maxInflatedBytes: number,
  stop?: () => void,
): Promise<void> {
  const { source } = decoder
  let inflated = 0
  try {
    for await (const chunk of gunzip as AsyncIterable<Buffer>) {
      if (inflated === 0) rejectText(chunk, source)
      inflated += chunk.length
      if (inflated > maxInflatedBytes) throw tooLarge(source, maxInflatedBytes)
      namingSource(source, () => decoder.push(chunk))
    }
  } catch (error) {
    stop?.()
    gunzip.destroy()
    // zlib's own errors carry a Z_ code; anything else is ours, and must not pass for bad input.
    throw isZlibError(error) ? gunzipError(error, source, maxInflatedBytes) : error
  }
  if (inflated === 0) throw new InputError(`${source}: empty gzip stream, not a pprof profile`)
}

const isGzip = (bytes: Uint8Array) => bytes[0] === 0x1f && bytes[1] === 0x8b

/**
 * About how many bytes a gzip stream inflates to, to size the decoder's columns once: the
 * trailer's ISIZE (the size mod 2^32, exact for one member under 4 GiB, which is what Go writes),
 * else 3× (profiles inflate 1.5–5×). Only a hint: a wrong one costs copies, never correctness.
 */
function inflatedSize(gz: Uint8Array, limit: number): number {
  return sizeHint(gz.length, trailerSize(gz), limit)
}

function sizeHint(compressed: number, isize: number, limit: number): number {
  return Math.min(limit, isize >= compressed ? isize : compressed * 3)
}

/** The gzip trailer's ISIZE (0 when too short to have one). */
function trailerSize(gz: Uint8Array): number {
  const n = gz.length
  return n >= 18
    ? ((gz[n - 4] as number) |
        ((gz[n - 3] as number) << 8) |
        ((gz[n - 2] as number) << 16) |
        ((gz[n - 1] as number) << 24)) >>>
        0
    : 0
}

/**
 * zlib's chunkSize for one output buffer: one byte more than the trailer's ISIZE, which zlib then
 * never fills (a full buffer makes it start another). Nothing when ISIZE is implausible: below
 * the compressed size, past deflate's largest ratio (1032:1) or the limit; a wrong but plausible
 * one costs chunks and a copy, never correctness.
 */
function chunkFor(compressed: number, isize: number, limit: number): { chunkSize?: number } {
  if (isize < compressed || isize > compressed * 1032 || isize > limit) return {}
  return { chunkSize: Math.max(64, isize + 1) }
}

/** Runs a decoding step, turning malformed protobuf into one line naming the source. */
function namingSource<T>(source: string, step: () => T): T {
  try {
    return step()
  } catch (error) {
    if (error instanceof ProtoError)
      throw new InputError(`${source}: not a pprof profile (${error.message})`)
    throw error
  }
}

const isZlibError = (error: unknown) =>
  error instanceof Error &&
  /^(Z_|ERR_BUFFER_TOO_LARGE)/.test(String((error as { code?: unknown }).code))

const tooLarge = (source: string, limit: number) =>
  new InputError(`${source}: inflates to more than ${formatBytes(limit)}, refusing to read it`)

function gunzipError(error: unknown, source: string, limit: number): InputError {
  const message = error instanceof Error ? error.message : String(error)
  if (/unexpected end/i.test(message))
    return new InputError(`${source}: truncated gzip stream (the download was cut short?)`)
  if (error instanceof RangeError || /too large|maxOutputLength/i.test(message))
    return tooLarge(source, limit)
  return new InputError(`${source}: corrupt gzip stream (${message})`)
}

/** The inflated bytes as a Buffer, once rejectText has found no text format in their head. */
function checked(raw: Uint8Array, source: string): Buffer {
  const buf = Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength)
  rejectText(buf, source)
  return buf
}

/** A profile never starts with text; name the text formats people save by mistake. */
function rejectText(buf: Buffer, source: string): void {
  const head = buf.toString('utf8', 0, Math.min(buf.length, 512))
  if (looksLikeHtml(head))
    throw new InputError(`${source}: got HTML, not a pprof profile (a login or error page?)`)
  const probe = buf.subarray(0, Math.min(buf.length, 64))
  if (!probe.every(b => b === 9 || b === 10 || b === 13 || (b >= 0x20 && b < 0x7f))) return
  if (/^heap profile:/.test(head))
    throw new InputError(
      `${source}: a text heap profile (debug=1), not a pprof profile: fetch /debug/pprof/heap without ?debug`,
    )
  if (/^goroutine (profile:|\d+ \[)/m.test(head))
    throw new InputError(
      `${source}: a text goroutine dump, not a pprof profile: use \`gomemdoctor goroutines\``,
    )
  if (/^\s*[[{]/.test(head)) throw new InputError(`${source}: got JSON, not a pprof profile`)
  throw new InputError(
    `${source}: got text, not a pprof profile: ${JSON.stringify(head.slice(0, 40))}`,
  )
}
