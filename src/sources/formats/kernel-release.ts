/**
 * /proc/sys/kernel/osrelease: the running kernel's release string, as `uname -r` prints it.
 *
 *   6.18.44-fc-v857
 *   6.1.0-18-amd64
 *
 * A file of its own because it is a capture of its own (a recording keeps it beside the rest);
 * model/target.ts parseKernelVersion turns it into numbers.
 *
 * Reference: Documentation/admin-guide/sysctl/kernel.rst (Linux v6.1), "osrelease, ostype &
 * version"; include/uapi/linux/utsname.h (__NEW_UTS_LEN = 64).
 */
import { InputError } from '../../errors.ts'
import { captureText, type RawCapture } from '../capture.ts'
import type { Format } from './format.ts'
import { excerpt, rejectNonText } from './proc-status.ts'

const WHAT = '/proc/sys/kernel/osrelease'
/** The kernel keeps at most 64 bytes of release string (struct new_utsname). */
const MAX_RELEASE = 64
const RELEASE = /^\d+\.\d+\S*$/

export const kernelRelease: Format<string> = {
  kind: 'kernel-release',
  sniff: head => head.length <= MAX_RELEASE + 1 && RELEASE.test(head.trimEnd()),
  parse: capture => parseKernelRelease(capture),
}

/** The release string, trimmed; throws InputError on anything that is not one. */
export function parseKernelRelease(capture: RawCapture): string {
  const { origin } = capture
  const text = captureText(capture)
  rejectNonText(text, origin, WHAT)
  const release = text.trim()
  if (release.length > MAX_RELEASE) {
    throw new InputError(`${origin}: not ${WHAT}: ${release.length} characters, at most 64`)
  }
  if (!RELEASE.test(release)) {
    throw new InputError(`${origin}: not ${WHAT}: want "<major>.<minor>…": ${excerpt(release)}`)
  }
  return release
}
