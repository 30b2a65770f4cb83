/**
 * A single self-overwriting status line on a TTY; silent when the stream is not a terminal.
 * `say` is a line that stays, on a terminal or not: what the user must know the run did.
 */
export interface ProgressLine {
  update(text: string): void
  clear(): void
  say(text: string): void
}

export function progressLine(stream: NodeJS.WriteStream): ProgressLine {
  if (!stream.isTTY) return { update() {}, clear() {}, say: text => stream.write(`${text}\n`) }
  let shown = false
  return {
    say(text) {
      if (shown) stream.write('\r\x1b[K')
      shown = false
      stream.write(`${text}\n`)
    },
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
