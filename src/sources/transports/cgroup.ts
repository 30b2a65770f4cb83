import { access, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { messageOf } from '../../errors.ts'
import type { CaptureKind } from '../capture.ts'
import type { ProcCgroup } from '../formats/proc-cgroup.ts'
import { type CgroupMount, parseCgroupMounts, pathBelow } from '../formats/proc-mountinfo.ts'
import { type ReadResult, readCapture } from './files.ts'

/** Where a process's memory cgroup lives, and which files to read each tick. */
export interface CgroupLocation {
  version: 1 | 2
  dir: string
  files: { kind: CaptureKind; path: string }[]
}

/** Why no memory cgroup was found, in words for a Gap. */
export interface CgroupMiss {
  reason: string
}

/** The usual mount points, used only when no mountinfo can be read: v1's memory, then v2. */
const FALLBACK_MOUNTS: CgroupMount[] = [
  { version: 1, root: '/', mountPoint: '/sys/fs/cgroup/memory' },
  { version: 2, root: '/', mountPoint: '/sys/fs/cgroup' },
  { version: 2, root: '/', mountPoint: '/sys/fs/cgroup/unified' },
]

/**
 * Finds the memory cgroup directory of process `pid` from the paths in its /proc/PID/cgroup.
 * Those paths, and the roots of cgroup mounts in any mountinfo we read, are printed relative to
 * our own cgroup namespace, so they compare directly (formats/proc-mountinfo.ts). Tried in order:
 *
 * 1. our own cgroup mounts (/proc/self/mountinfo): the host, or a container that shares the
 *    target's cgroup namespace;
 * 2. the target's own mounts, reached through /proc/PID/root: a `kubectl debug --target`
 *    container or a sidecar, whose cgroup namespace is its own, so the target's cgroup lies
 *    outside our /sys/fs/cgroup (its path starts with `/..`) but inside the target's;
 * 3. without any mountinfo, the usual mount points.
 *
 * A v2 directory counts only where the memory controller is enabled (memory.current exists).
 */
export async function locateMemoryCgroup(
  paths: ProcCgroup,
  pid?: number,
): Promise<CgroupLocation | CgroupMiss> {
  const wanted = [
    ...(paths.v1Memory !== undefined ? [{ version: 1 as const, path: paths.v1Memory }] : []),
    ...(paths.v2 !== undefined ? [{ version: 2 as const, path: paths.v2 }] : []),
  ]
  if (wanted.length === 0) {
    return {
      reason: `/proc/${pid ?? 'PID'}/cgroup names no memory cgroup (no v1 memory line, no v2 line)`,
    }
  }
  const views: { prefix: string; mounts: CgroupMount[] }[] = []
  const unreadable: string[] = []
  const own = await cgroupMounts('/proc/self/mountinfo')
  if (Array.isArray(own)) views.push({ prefix: '', mounts: own })
  else unreadable.push(own.reason)
  if (pid !== undefined) {
    const theirs = await cgroupMounts(`/proc/${pid}/mountinfo`)
    if (Array.isArray(theirs)) views.push({ prefix: `/proc/${pid}/root`, mounts: theirs })
    else unreadable.push(theirs.reason)
  }
  if (views.length === 0) views.push({ prefix: '', mounts: FALLBACK_MOUNTS })

  for (const { version, path } of wanted) {
    for (const { prefix, mounts } of views) {
      for (const mount of mounts) {
        if (mount.version !== version) continue
        const rest = pathBelow(path, mount.root)
        if (rest === undefined) continue
        const dir = join(prefix || '/', mount.mountPoint, rest)
        const location = version === 1 ? v1Location(dir) : v2Location(dir)
        if (await exists(location.files[0]?.path ?? dir)) return location
      }
    }
  }
  return { reason: missReason(wanted, views, unreadable, pid) }
}

function v1Location(dir: string): CgroupLocation {
  return {
    version: 1,
    dir,
    files: [
      { kind: 'cgroup-memory-usage', path: join(dir, 'memory.usage_in_bytes') },
      { kind: 'cgroup-memory-limit', path: join(dir, 'memory.limit_in_bytes') },
      { kind: 'cgroup-memory-stat', path: join(dir, 'memory.stat') },
      { kind: 'cgroup-memory-failcnt', path: join(dir, 'memory.failcnt') },
      { kind: 'cgroup-memory-events', path: join(dir, 'memory.oom_control') },
    ],
  }
}

function v2Location(dir: string): CgroupLocation {
  return {
    version: 2,
    dir,
    files: [
      { kind: 'cgroup-memory-usage', path: join(dir, 'memory.current') },
      { kind: 'cgroup-memory-limit', path: join(dir, 'memory.max') },
      { kind: 'cgroup-memory-stat', path: join(dir, 'memory.stat') },
      { kind: 'cgroup-memory-events', path: join(dir, 'memory.events') },
    ],
  }
}

/**
 * The memory-capable cgroup mounts in a mountinfo file, the visible one per mount point: a
 * mount stacked over another at the same place comes later in the file and hides it.
 */
async function cgroupMounts(path: string): Promise<CgroupMount[] | CgroupMiss> {
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch (error) {
    return { reason: `cannot read ${path} (${messageOf(error)})` }
  }
  try {
    const byPoint = new Map<string, CgroupMount>()
    for (const mount of parseCgroupMounts(text, path)) {
      byPoint.delete(mount.mountPoint)
      byPoint.set(mount.mountPoint, mount)
    }
    return [...byPoint.values()]
  } catch (error) {
    return { reason: messageOf(error) }
  }
}

/** Says which of the likely causes it was: no memory cgroup at all, or one out of reach. */
function missReason(
  wanted: readonly { version: 1 | 2; path: string }[],
  views: readonly { prefix: string; mounts: CgroupMount[] }[],
  unreadable: readonly string[],
  pid: number | undefined,
): string {
  const named = wanted.map(w => `v${w.version} ${w.path}`).join(', ')
  const unread = unreadable.length > 0 ? `; ${unreadable.join('; ')}` : ''
  if (views.every(view => view.mounts.length === 0)) {
    return `no memory cgroup is mounted (no cgroup v1 memory hierarchy, no cgroup v2), here or in the target's mount namespace${unread}`
  }
  if (wanted.some(w => w.path.split('/').includes('..'))) {
    return `the target's memory cgroup (${named}) is outside this process's cgroup namespace, and no cgroup mount reachable from here holds it (neither ours nor the target's under /proc/${pid ?? 'PID'}/root)${unread}`
  }
  return `no memory cgroup files found for ${named} (cgroup v2 without the memory controller, or not mounted here)${unread}`
}

/** One tick's cgroup files, in order; a file that cannot be read is reported, not thrown. */
export function readCgroupFiles(location: CgroupLocation): Promise<ReadResult[]> {
  return Promise.all(location.files.map(file => readCapture(file.kind, file.path, 1 << 20)))
}

async function exists(path: string): Promise<boolean> {
  try {
    await access(path)
    return true
  } catch {
    // A missing file is the answer here, not an error.
    return false
  }
}
