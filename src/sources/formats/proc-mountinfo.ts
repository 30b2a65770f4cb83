/**
 * /proc/PID/mountinfo, reduced to the cgroup mounts: where a memory cgroup hierarchy is mounted
 * in that process's mount namespace, and which cgroup is the mount's root. One line a mount:
 *
 *   35 31 0:32 /process_api/41b3 /sys/fs/cgroup/memory rw,relatime shared:9 - cgroup cgroup rw,memory
 *   id parent dev root           mount point           options    optional… - fstype source super-options
 *
 * For cgroup file systems the kernel prints `root` relative to the *reader's* cgroup namespace
 * (cgroupfs' show_path), the same way it prints the paths in /proc/PID/cgroup. So a target's
 * cgroup path and a mount's root, both read by us, are comparable even when the mount belongs to
 * a container with a cgroup namespace of its own: inside a container the runtime mounts the
 * cgroup file system rooted at the container's cgroup, which we see as, say, `/../abc123` from a
 * debug container in a sibling cgroup, or `/kubepods/…/abc123` from the host.
 *
 * Paths escape space, tab, newline and backslash as octal (`\040`).
 *
 * Reference: proc(5) "/proc/pid/mountinfo"; cgroup_namespaces(7); kernel/cgroup/cgroup.c
 * (cgroup_show_path).
 */
import { InputError } from '../../errors.ts'

/** A mount of a cgroup hierarchy that has the memory controller. */
export interface CgroupMount {
  /** 1: a v1 hierarchy whose super options include `memory`; 2: the unified hierarchy. */
  version: 1 | 2
  /** The cgroup at the mount's root, as the reader's cgroup namespace names it. */
  root: string
  /** Where it is mounted, in the mount namespace of the process whose mountinfo this is. */
  mountPoint: string
}

/**
 * The v1 memory and v2 cgroup mounts in a mountinfo text that are still in sight: a mount
 * made later at the same place or above it (a container's fresh tmpfs on /sys/fs/cgroup)
 * hides it, and later mounts come later in the file. A v2 mount is listed whether or not the
 * memory controller is enabled there: only its files (memory.current) can tell. Throws
 * InputError naming `origin` and the line when a line is not mountinfo at all.
 */
export function parseCgroupMounts(text: string, origin: string): CgroupMount[] {
  const all: { mountPoint: string; cgroup?: CgroupMount }[] = []
  const lines = text.split('\n')
  for (const [index, line] of lines.entries()) {
    if (line === '') continue
    const fields = line.split(' ')
    const dash = fields.indexOf('-', 6)
    const root = fields[3]
    const mountPoint = fields[4]
    const fsType = fields[dash + 1]
    if (dash < 0 || root === undefined || mountPoint === undefined || fsType === undefined) {
      throw new InputError(`${origin}:${index + 1}: not a mountinfo line: ${line.slice(0, 80)}`)
    }
    const superOptions = (fields[dash + 3] ?? '').split(',')
    const version =
      fsType === 'cgroup2' ? 2 : fsType === 'cgroup' && superOptions.includes('memory') ? 1 : 0
    const point = unescapeOctal(mountPoint)
    all.push(
      version === 0
        ? { mountPoint: point }
        : { mountPoint: point, cgroup: { version, root: unescapeOctal(root), mountPoint: point } },
    )
  }
  return all.flatMap((mount, i) => {
    if (!mount.cgroup) return []
    const hidden = all.slice(i + 1).some(later => covers(later.mountPoint, mount.mountPoint))
    return hidden ? [] : [mount.cgroup]
  })
}

/** True when a mount at `above` hides what is mounted at `point`: the same place or a parent. */
function covers(above: string, point: string): boolean {
  return above === point || above === '/' || point.startsWith(`${above}/`)
}

/**
 * Where cgroup `path` lies below a mount whose root is `root`: the relative path ('' for the
 * root itself), or undefined when it is not below it. Both are as the kernel printed them, so a
 * path outside the reader's cgroup namespace starts with `/..`; such a path is below a mount
 * only when the mount's root spells the same `..` steps, never by climbing out of it.
 */
export function pathBelow(path: string, root: string): string | undefined {
  const p = segments(path)
  const r = segments(root)
  if (r.length > p.length || r.some((part, i) => p[i] !== part)) return undefined
  const rest = p.slice(r.length)
  return rest.includes('..') ? undefined : rest.join('/')
}

function segments(path: string): string[] {
  return path.split('/').filter(part => part !== '' && part !== '.')
}

function unescapeOctal(field: string): string {
  return field.replace(/\\([0-7]{3})/g, (_, octal: string) =>
    String.fromCharCode(Number.parseInt(octal, 8)),
  )
}
