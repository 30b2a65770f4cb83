/**
 * /proc/PID/cgroup: one `hierarchy-ID:controller-list:cgroup-path` line per hierarchy the
 * process belongs to. v1 hierarchies have a non-zero ID and named controllers; the v2 (unified)
 * hierarchy is always `0::path`. A hybrid machine shows both:
 *
 *   4:memory:/process_api/41b3c82eb6e4ebefc426df659ecb4c9f/gomemdoctor-fixture-limited
 *   3:cpuset:/
 *   0::/
 *
 * Paths are relative to the hierarchy's mount point, and to the reader's cgroup namespace.
 *
 * Reference: cgroups(7) "/proc/[pid]/cgroup"; Documentation/admin-guide/cgroup-v2.rst
 * (Linux v6.1), "Processes".
 */
import { InputError } from '../../errors.ts'
import { captureText, type RawCapture } from '../capture.ts'
import type { Format } from './format.ts'
import { excerpt, firstLine, rejectNonText } from './proc-status.ts'

/** The memory cgroup paths of a process: where its v1 memory controller and its v2 node are. */
export interface ProcCgroup {
  /** Path on the v1 hierarchy whose controller list includes `memory`. */
  v1Memory?: string
  /** Path on the v2 hierarchy (the `0::` line); the memory controller may not be enabled there. */
  v2?: string
}

// The path is everything after the second colon: systemd and CRI paths can contain colons
// (`…/cri-containerd:0123abcd`), so a split on every ':' would cut them.
const LINE = /^(\d+):([^:]*):(\/.*)$/

export const procCgroup: Format<ProcCgroup> = {
  kind: 'proc-cgroup',
  sniff: head => LINE.test(firstLine(head)),
  parse: capture => parseProcCgroup(capture),
}

/** Parses /proc/PID/cgroup; errors name capture.origin and the line. */
export function parseProcCgroup(capture: RawCapture): ProcCgroup {
  const { origin } = capture
  const text = captureText(capture)
  rejectNonText(text, origin, '/proc/PID/cgroup')
  const result: ProcCgroup = {}
  const lines = text.split('\n')
  for (const [index, line] of lines.entries()) {
    if (line === '' && index === lines.length - 1) break
    const match = LINE.exec(line)
    if (!match) {
      throw new InputError(
        `${origin}:${index + 1}: not a "hierarchy:controllers:/path" line: ${excerpt(line)}`,
      )
    }
    const [, id, controllers = '', path = ''] = match
    if (id === '0' && controllers === '') result.v2 = path
    else if (controllers.split(',').includes('memory')) result.v1Memory = path
  }
  return result
}
