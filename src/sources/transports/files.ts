import { createReadStream, readSync } from 'node:fs'
import { type FileHandle, open } from 'node:fs/promises'
import { errorCode, messageOf } from '../../errors.ts'
import type { CaptureKind, RawCapture } from '../capture.ts'

/** A read either gives the bytes, or says why not (the errno code) so the caller can decide. */
export type ReadResult =
  | { ok: true; capture: RawCapture }
  | { ok: false; code: string; message: string; path: string }

/**
 * Reads a whole file, up to maxBytes, as a capture. /proc files report size 0, so this reads
 * until EOF rather than trusting stat. Never throws for I/O: the code (ENOENT, EACCES, ESRCH…)
 * tells a vanished process from a forbidden file.
 */
export async function readCapture(
  kind: CaptureKind,
  path: string,
  maxBytes = 64 * 1024 * 1024,
): Promise<ReadResult> {
  const atMs = Date.now()
  try {
    const handle = await open(path, 'r')
    try {
      const chunks: Buffer[] = []
      let total = 0
      // A regular file states its size: one read into one buffer, no copy (a 44 MB profile
      // spent 19 ms in concat). /proc files state 0 and are read a chunk at a time.
      const { size } = await handle.stat()
      let chunkSize = size > 0 ? size + 1 : 1 << 20
      for (;;) {
        const chunk = Buffer.allocUnsafe(Math.min(chunkSize, maxBytes - total + 1))
        chunkSize = 1 << 20
        const { bytesRead } = await handle.read(chunk, 0, chunk.length, null)
        if (bytesRead === 0) break
        chunks.push(chunk.subarray(0, bytesRead))
        total += bytesRead
        if (total > maxBytes) {
          return {
            ok: false,
            code: 'EFBIG',
            message: `${path} is larger than ${maxBytes} bytes`,
            path,
          }
        }
      }
      const bytes = chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks)
      return { ok: true, capture: { kind, origin: path, atMs, bytes } }
    } finally {
      await handle.close()
    }
  } catch (error) {
    return { ok: false, code: errorCode(error) ?? 'EIO', message: messageOf(error), path }
  }
}

/**
 * Reads a file a chunk at a time, for inputs parsed as they arrive (a 227 MiB goroutine dump need
 * not be held whole), into one buffer with `room` free bytes before each chunk's data, which the
 * consumer may write over; it must not keep the chunk once onChunk returns. Errors thrown by
 * onChunk propagate; I/O errors come back as codes, as readCapture's do.
 *
 * One read at a time: reading the next chunk on the thread pool while onChunk parsed this one
 * cost more than it saved on the 2-core machine the benches run on (a 200k-goroutine dump: user
 * time +0.07–0.18 s, wall +0.1 s, in 8 runs each way): the copy on the other core competes with
 * the parse, and the parse then reads a chunk written from another core's cache. And each read
 * synchronous: awaiting a read from the thread pool left the parsing thread idle ~1 ms a chunk,
 * ~250 ms in a CPU profile of a 227 MiB dump; the copy is not it (awaited in a loop of their
 * own, the same reads take 0.15 ms each), the hand-over to the pool and back is. Read in place,
 * that dump's parse and reads took 1,020–1,049 ms against 1,122–1,479 ms awaited (three runs
 * each, one harness). Nothing else runs on the event loop meanwhile, and a chunk's parse holds
 * it far longer than its read.
 */
export async function readChunks(
  path: string,
  maxBytes: number,
  onChunk: (chunk: Buffer, room: number) => void,
  chunkSize = 1 << 20,
  room = 1 << 16,
): Promise<
  { ok: true; bytes: number } | { ok: false; code: string; message: string; path: string }
> {
  const failed = (error: unknown) => ({
    ok: false as const,
    code: errorCode(error) ?? 'EIO',
    message: messageOf(error),
    path,
  })
  let handle: FileHandle
  try {
    handle = await open(path, 'r')
  } catch (error) {
    return failed(error)
  }
  try {
    const buffer = Buffer.allocUnsafe(room + chunkSize)
    let total = 0
    for (;;) {
      let bytesRead: number
      try {
        bytesRead = readSync(handle.fd, buffer, room, chunkSize, null)
      } catch (error) {
        return failed(error)
      }
      if (bytesRead === 0) return { ok: true, bytes: total }
      total += bytesRead
      if (total > maxBytes)
        return {
          ok: false,
          code: 'EFBIG',
          message: `${path} is larger than ${maxBytes} bytes`,
          path,
        }
      onChunk(buffer.subarray(0, room + bytesRead), room)
    }
  } finally {
    await handle.close()
  }
}

/** True for the errors that mean the process is gone (not merely forbidden). */
export function isVanished(code: string): boolean {
  return code === 'ENOENT' || code === 'ESRCH'
}

/** A gzipped regular file: its path, its size and the gzip trailer's ISIZE. */
export interface GzipFile {
  path: string
  size: number
  /** The trailer's last four bytes: the inflated size mod 2^32, as the file claims it. */
  isize: number
}

/**
 * A regular gzipped file of at most maxBytes, for a reader that inflates it as it is read
 * (fileChunks) and need not hold it whole; undefined for anything else (missing, not a regular
 * file, not gzip, too big: readCapture then reads it, or says why not).
 */
export async function gzipFile(path: string, maxBytes: number): Promise<GzipFile | undefined> {
  let handle: FileHandle | undefined
  try {
    handle = await open(path, 'r')
    const stat = await handle.stat()
    const size = stat.size
    if (!stat.isFile() || size < 18 || size > maxBytes) return undefined
    const head = Buffer.alloc(2)
    const tail = Buffer.alloc(4)
    await handle.read(head, 0, 2, 0)
    await handle.read(tail, 0, 4, size - 4)
    if (head[0] !== 0x1f || head[1] !== 0x8b) return undefined
    return { path, size, isize: tail.readUInt32LE(0) }
  } catch {
    // readCapture meets the same error and names it.
    return undefined
  } finally {
    await handle?.close()
  }
}

/**
 * A file's bytes in chunks as they are read, each a buffer of its own (zlib holds what it was
 * written until it has inflated it, so readChunks' one reused buffer would not do). 256 KiB
 * reads: each is garbage once inflated, and
 * 1 MiB ones waiting for the collector cost a deep profile's `profile top` 3 MiB of its peak
 * (64 KiB ones, more CPU).
 */
export function fileChunks(path: string): AsyncIterable<Buffer> {
  return createReadStream(path, { highWaterMark: 1 << 18 })
}
