import { access } from 'node:fs/promises'
import { join } from 'node:path'
import type { CaptureKind } from '../capture.ts'
import { type ReadResult, readCapture } from './files.ts'

/** Where a process's memory cgroup lives, and which files to read each tick. */
export interface CgroupLocation {
  version: 1 | 2
  dir: string
  files: { kind: CaptureKind; path: string }[]
}

/** The usual mount points: v1's memory controller, then v2 on its own or beside v1. */
const V1_ROOT = '/sys/fs/cgroup/memory'
const V2_ROOTS = ['/sys/fs/cgroup', '/sys/fs/cgroup/unified']

/**
 * Finds the memory cgroup directory from the paths in /proc/PID/cgroup. A v2 path counts only
 * where the memory controller is enabled there (memory.current exists). Assumes the standard
 * mount points and that the target shares our cgroup namespace; anything else gives undefined.
 */
export async function locateMemoryCgroup(paths: {
  v1Memory?: string
  v2?: string
}): Promise<CgroupLocation | undefined> {
  if (paths.v1Memory !== undefined) {
    const dir = join(V1_ROOT, paths.v1Memory)
    if (await exists(join(dir, 'memory.usage_in_bytes'))) {
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
  }
  if (paths.v2 !== undefined) {
    for (const root of V2_ROOTS) {
      const dir = join(root, paths.v2)
      if (await exists(join(dir, 'memory.current'))) {
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
    }
  }
  return undefined
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
