/**
 * The goroutine leak profile, /debug/pprof/goroutineleak (Go 1.27; Go 1.26 built with
 * GOEXPERIMENT=goroutineleakprofile): the goroutines the runtime proved can never wake, because
 * what they are blocked on (a channel, a sync.Mutex, a sync.Cond…) is reachable from no runnable
 * goroutine. Writing the profile runs a GC cycle that performs the detection; the profile holds
 * that cycle's result, in the goroutine profile's two forms:
 *
 *   debug=0  gzipped proto; sample type `goroutineleak/count` (not the goroutine profile's
 *            `goroutine/count`), runtime frames kept (runtime.chanrecv1 names the wait)
 *   debug=1  goroutineleak profile: total 10227
 *            10227 @ 0x48b34e 0x41afee 0x41ab12 0x6969f4 0x492ca1
 *            #	0x6969f3	main.leakyWorker+0x33	/src/memsick/goroutines.go:17
 *
 * `total 0` with no stacks is a real answer: none leaked. (debug=2 dumps every goroutine, leaked
 * or not, and is not read here.) A server without the profile answers 404 "Unknown profile";
 * that is the transport's business, and reaches this parser only as a file saved by hand.
 *
 * Reference: go1.27.3 src/runtime/pprof/pprof.go (goroutineLeakProfile, writeGoroutineLeak,
 * printCountProfile), src/net/http/pprof/pprof.go (handler.ServeHTTP: 404 "Unknown profile").
 */
import { InputError } from '../../errors.ts'
import { type GoroutineDump, goroutinesFromProfile } from '../../model/goroutines.ts'
import type { RawCapture } from '../capture.ts'
import type { Format } from './format.ts'
import { parseCountProfileText } from './goroutine-text.ts'
import { parsePprof } from './pprof.ts'
import { headOf } from './sniff.ts'

/** The profile's name, in its proto sample type and its debug=1 header. */
const PROFILE = 'goroutineleak'

/**
 * The leaked goroutines as a dump (form 'proto' or 'debug=1'): `total` is how many the runtime
 * called leaked. Throws InputError naming the origin when the bytes are another profile or broken.
 */
export function parseGoroutineLeak(capture: RawCapture): GoroutineDump {
  const { bytes, origin } = capture
  const head = headOf(bytes, 64)
  if (head.startsWith(`${PROFILE} profile: total `)) {
    return parseCountProfileText(Buffer.from(bytes).toString('utf8'), origin, PROFILE)
  }
  if (head.startsWith('goroutine profile: total '))
    throw new InputError(`${origin}: a goroutine profile, not the goroutineleak profile`)
  // Anything else must be the proto; parsePprof names HTML, text and broken gzip in one line.
  const profile = parsePprof(bytes, origin)
  const type = profile.sampleTypes[0]?.type
  if (profile.sampleTypes.length !== 1 || type !== PROFILE) {
    const types = profile.sampleTypes.map(t => `${t.type}/${t.unit}`).join(', ') || 'none'
    throw new InputError(
      `${origin}: a pprof profile of ${types}, not the goroutineleak profile (goroutineleak/count)`,
    )
  }
  return goroutinesFromProfile(profile)
}

export const pprofGoroutineLeak: Format<GoroutineDump> = {
  kind: 'pprof-goroutineleak',
  // Only the text form can be told from its head; a saved proto is gzip like any profile.
  sniff: head => head.startsWith(`${PROFILE} profile: total `),
  parse: parseGoroutineLeak,
}
