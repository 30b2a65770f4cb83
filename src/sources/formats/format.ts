import type { CaptureKind, RawCapture } from '../capture.ts'

/**
 * One format: what the bytes mean, independent of how they arrived. Pure: no I/O.
 * `parse` throws InputError naming capture.origin (and the line) when the bytes are broken.
 */
export interface Format<T> {
  kind: CaptureKind
  /** true only if the head of the file looks like this format; never throws. */
  sniff(head: string): boolean
  parse(capture: RawCapture): T
}
