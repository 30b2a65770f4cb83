/**
 * FILE|URL arguments of the profile and goroutines commands, read as one capture. A bare base URL
 * (http://host:6060) gets the endpoint that is cheapest for the target to answer.
 */
import { InputError, TargetError, UsageError } from '../errors.ts'
import type { CaptureKind, RawCapture } from '../sources/capture.ts'
import { type GzipFile, gzipFile, readCapture, readChunks } from '../sources/transports/files.ts'
import { httpGet } from '../sources/transports/http.ts'

/** Profiles of big heaps run to hundreds of MB; beyond this, the decoder would not cope anyway. */
const MAX_INPUT_BYTES = 1024 * 1024 * 1024
/** A heap profile is written after a full walk of the buckets; a goroutine dump stops the world. */
const FETCH_TIMEOUT_MS = 60_000
/** Chunks of a streamed file: large enough that a read's cost is the copy, small enough to stay
 * in cache while parsed. */
const CHUNK_BYTES = 1 << 20

export async function readInput(
  arg: string,
  kind: CaptureKind,
  defaultPath: string,
): Promise<RawCapture> {
  if (isUrl(arg)) {
    const url = new URL(arg)
    if (url.pathname === '/' || url.pathname === '') url.pathname = defaultPath
    const answer = await httpGet(kind, url.toString(), {
      timeoutMs: FETCH_TIMEOUT_MS,
      maxBytes: MAX_INPUT_BYTES,
    })
    if (answer.status !== 200)
      throw new TargetError(`${url}: HTTP ${answer.status} (is net/http/pprof registered?)`)
    if (answer.truncated) throw new InputError(`${url}: the answer is larger than 1 GiB`)
    return answer.capture
  }
  const read = await readCapture(kind, arg, MAX_INPUT_BYTES)
  if (read.ok) return read.capture
  return readFailed(arg, read.code)
}

/** True when readInput would fetch `arg` over HTTP rather than read a file. */
export function isUrl(arg: string): boolean {
  return /^https?:\/\//i.test(arg)
}

/**
 * A FILE argument a chunk at a time (see readChunks: `onChunk` must not keep the chunk), with
 * readInput's errors. URLs are read whole by readInput.
 */
export async function readInputChunks(
  arg: string,
  onChunk: (chunk: Buffer, room: number) => void,
): Promise<void> {
  const read = await readChunks(arg, MAX_INPUT_BYTES, onChunk, CHUNK_BYTES)
  if (!read.ok) readFailed(arg, read.code)
}

function readFailed(arg: string, code: string): never {
  if (code === 'ENOENT') throw new UsageError(`${arg}: no such file`)
  if (code === 'EISDIR') throw new UsageError(`${arg}: is a directory, not a file`)
  if (code === 'EFBIG') throw new InputError(`${arg}: larger than 1 GiB`)
  throw new InputError(`${arg}: cannot read (${code})`)
}

/**
 * A FILE argument that is a gzipped regular file (to be read in chunks by a reader that inflates
 * as it goes); undefined for a URL or anything else, which readInput then reads.
 */
export async function gzipFileArg(arg: string): Promise<GzipFile | undefined> {
  if (isUrl(arg)) return undefined
  return gzipFile(arg, MAX_INPUT_BYTES)
}
