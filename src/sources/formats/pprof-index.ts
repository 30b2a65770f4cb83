/**
 * The /debug/pprof/ index page of net/http/pprof: an HTML table of profile counts. The goroutine
 * count there is runtime.NumGoroutine(): reading it does not stop the world, unlike any goroutine
 * profile, so it is the cheap way to follow the count every sample.
 *
 *   <tr><td>10603</td><td><a href='goroutine?debug=1'>goroutine</a></td></tr>   (Go ≥ 1.11)
 *   10603	<a href="goroutine?debug=1">goroutine</a><br>                          (older)
 *
 * Reference: go/src/net/http/pprof/pprof.go (go1.19), indexTmplExecute.
 */
import { InputError } from '../../errors.ts'
import { captureText, type RawCapture } from '../capture.ts'
import type { Format } from './format.ts'

const GOROUTINE_ROW =
  /(\d+)\s*(?:<\/td>\s*<td>)?\s*<a href=['"]?goroutine\?debug=1['"]?>goroutine<\/a>/

export function parsePprofIndex(capture: RawCapture): { goroutines: number } {
  const match = GOROUTINE_ROW.exec(captureText(capture))
  if (!match)
    throw new InputError(`${capture.origin}: not a net/http/pprof index page (no goroutine count)`)
  return { goroutines: Number(match[1]) }
}

export const pprofIndex: Format<{ goroutines: number }> = {
  kind: 'pprof-index',
  sniff: head => /<title>\/debug\/pprof\/<\/title>/.test(head),
  parse: parsePprofIndex,
}
