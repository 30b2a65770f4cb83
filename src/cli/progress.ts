/** A single self-overwriting status line on a TTY; silent when the stream is not a terminal. */
export interface ProgressLine {
  update(text: string): void
  clear(): void
}

export function progressLine(stream: NodeJS.WriteStream): ProgressLine {
  if (!stream.isTTY) return { update() {}, clear() {} }
  let shown = false
  return {
    update(text) {
      const width = (stream.columns ?? 80) - 1
      stream.write(`\r\x1b[K${text.slice(0, width)}`)
      shown = true
    },
    clear() {
      if (shown) stream.write('\r\x1b[K')
      shown = false
    },
  }
}
