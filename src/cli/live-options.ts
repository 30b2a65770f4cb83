/**
 * What every command that samples a live target (diagnose, record, watch) takes and checks the
 * same way: which target, how often, and how gently it is read.
 */
import type { Command } from 'commander'
import { UsageError } from '../errors.ts'
import { parseBytes, parseDuration } from '../model/units.ts'
import type { CollectOptions } from '../sources/collect.ts'

export interface LiveFlags {
  pid?: string
  url?: string
  interval: string
  smapsMaxRss: string
  httpTimeout: string
  forceGc?: boolean
  leakProfile?: boolean
}

/** --force-gc's help: what it buys and what it costs the target. */
const FORCE_GC_HELP =
  "fetch the heap profiles at the window's start and end with ?gc=1, so the target runs a full GC first: they then show the live heap now, not as of the last GC, at the cost of a full GC in the target (a short stop-the-world plus GC CPU); samples after the start see the heap as that GC left it"

/** --leak-profile's help: what it buys and what it costs the target. */
const LEAK_PROFILE_HELP =
  "fetch /debug/pprof/goroutineleak at the window's start and end (Go ≥ 1.27, or 1.26 built with GOEXPERIMENT=goroutineleakprofile): the runtime names the goroutines that can never wake, at the cost of a full GC cycle in the target per fetch"

/** Adds the live-target options, in the order `--help` lists them. */
export function withLiveOptions(command: Command): Command {
  return command
    .option('--pid <pid>', 'the process to read through /proc')
    .option('--url <url>', "the target's HTTP server (for /metrics, /debug/vars, /debug/pprof)")
    .option('--interval <d>', 'time between samples', '1s')
    .option(
      '--smaps-max-rss <size>',
      'read /proc/PID/smaps_rollup only while RSS is below this (the read stalls the target)',
      '16GiB',
    )
    .option('--http-timeout <d>', 'give up on an HTTP request to the target after this long', '5s')
    .option('--force-gc', FORCE_GC_HELP)
    .option('--leak-profile', LEAK_PROFILE_HELP)
}

/**
 * Refuses the flags that ask a live target for something (a GC, a leak detection cycle) when
 * there is none: a saved run or a Prometheus server cannot be asked any more.
 */
export function refuseLiveOnlyFlags(flags: LiveFlags, target: string): void {
  for (const [set, flag] of [
    [flags.forceGc, '--force-gc'],
    [flags.leakProfile, '--leak-profile'],
  ] as const) {
    if (set) throw new UsageError(`${flag} needs a live target, not ${target}`)
  }
}

/** collect()'s options for a live target; throws UsageError naming the flag that is wrong. */
export function liveCollectOptions(
  target: { pid?: number; url?: string },
  flags: LiveFlags,
): Pick<
  CollectOptions,
  'pid' | 'url' | 'intervalMs' | 'smapsMaxRssBytes' | 'httpTimeoutMs' | 'forceGc' | 'leakProfile'
> {
  const intervalMs = duration(flags.interval, '--interval')
  if (intervalMs < 100) throw new UsageError('--interval must be at least 100ms')
  const smapsMaxRssBytes = parseBytes(flags.smapsMaxRss)
  if (smapsMaxRssBytes === undefined) {
    throw new UsageError(
      `--smaps-max-rss: cannot read "${flags.smapsMaxRss}" as a size (try 16GiB)`,
    )
  }
  return {
    ...(target.pid === undefined ? {} : { pid: target.pid }),
    ...(target.url === undefined ? {} : { url: target.url }),
    intervalMs,
    smapsMaxRssBytes,
    httpTimeoutMs: duration(flags.httpTimeout, '--http-timeout'),
    forceGc: flags.forceGc === true,
    leakProfile: flags.leakProfile === true,
  }
}

/**
 * The live target of a command that only samples (record, watch): a PID and/or a URL, from the
 * positional argument or --pid/--url. Throws UsageError naming the command otherwise.
 */
export function liveTarget(
  command: string,
  target: string | undefined,
  flags: { pid?: string; url?: string },
  kinds = 'a PID or a URL',
): { pid?: number; url?: string } {
  let pid = flags.pid === undefined ? undefined : parsePid(flags.pid)
  let url = flags.url === undefined ? undefined : parseUrl(flags.url)
  if (target !== undefined) {
    if (/^\d+$/.test(target)) pid = parsePid(target)
    else if (/^https?:\/\//i.test(target)) url = parseUrl(target)
    else throw new UsageError(`${command} needs a PID or a URL, not "${target}"`)
  }
  if (pid === undefined && url === undefined) {
    throw new UsageError(`${command} needs a target: ${kinds} (see --help)`)
  }
  return { ...(pid === undefined ? {} : { pid }), ...(url === undefined ? {} : { url }) }
}

export function parsePid(text: string): number {
  const pid = Number(text)
  if (!/^\d+$/.test(text) || pid < 1 || pid > 2 ** 22)
    throw new UsageError(`"${text}" is not a PID`)
  return pid
}

export function parseUrl(text: string): string {
  try {
    const url = new URL(text)
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error('not http')
    return url.toString().replace(/\/+$/, '')
  } catch {
    throw new UsageError(`"${text}" is not an http(s) URL`)
  }
}

export function duration(text: string, flag: string): number {
  const ms = parseDuration(text)
  if (ms === undefined || ms <= 0)
    throw new UsageError(`${flag}: cannot read "${text}" as a duration (try 30s, 2m, 500ms)`)
  return ms
}
