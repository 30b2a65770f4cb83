/**
 * Runs a command under /usr/bin/time -v: wall seconds and peak RSS, output discarded. With
 * `runs` > 1 (after one unmeasured warm-up: tsx compiles on first use, the file enters the page
 * cache), the best wall time and the highest peak RSS of the runs.
 */
import { execFileSync, spawnSync } from 'node:child_process'
import { cpus, loadavg } from 'node:os'

export interface Measurement {
  label: string
  seconds: number
  peakRssBytes: number
  exitCode: number
}

/** A command to time: what measureInterleaved takes. */
export interface Command {
  label: string
  command: string
  args: string[]
  /**
   * Runs per round (default 1): a 0.3 s run samples the load of one moment and a 15 s run
   * averages it, so the short one is given a few tries in its turn. Said in the label.
   */
  repeat?: number
}

/**
 * The commands run in turns, `runs` rounds after one unmeasured warm-up round, so that each sees
 * the same load on a shared machine (back-to-back best-of-N let one tool's runs fall in a quiet
 * minute and the other's in a busy one); the best wall time and highest peak RSS of each.
 */
export function measureInterleaved(commands: Command[], runs: number): Measurement[] {
  const all = measureInTurns(commands, runs)
  return commands.map((c, i) => ({
    label: `${c.label} (best of ${runs * (c.repeat ?? 1)})`,
    seconds: Math.min(...(all[i] ?? []).map(m => m.seconds)),
    peakRssBytes: Math.max(...(all[i] ?? []).map(m => m.peakRssBytes)),
    exitCode: 0,
  }))
}

/** measureInterleaved's runs, every one: for each command, its measurements in order. */
export function measureInTurns(commands: Command[], runs: number): Measurement[][] {
  for (const c of commands) measureOnce(c.label, c.command, c.args)
  const all = commands.map(() => [] as Measurement[])
  for (let round = 0; round < runs; round++)
    for (const [i, c] of commands.entries())
      for (let k = 0; k < (c.repeat ?? 1); k++)
        all[i]?.push(measureOnce(c.label, c.command, c.args))
  return all
}

export function measure(label: string, command: string, args: string[], runs = 1): Measurement {
  if (runs === 1) return measureOnce(label, command, args)
  measureOnce(label, command, args)
  const all = Array.from({ length: runs }, () => measureOnce(label, command, args))
  return {
    label: `${label} (best of ${runs})`,
    seconds: Math.min(...all.map(m => m.seconds)),
    peakRssBytes: Math.max(...all.map(m => m.peakRssBytes)),
    exitCode: 0,
  }
}

function measureOnce(label: string, command: string, args: string[]): Measurement {
  const started = process.hrtime.bigint()
  const run = spawnSync('/usr/bin/time', ['-v', command, ...args], {
    stdio: ['ignore', 'ignore', 'pipe'],
    encoding: 'utf8',
    maxBuffer: 256 * 1024 * 1024,
  })
  const seconds = Number(process.hrtime.bigint() - started) / 1e9
  const rss = /Maximum resident set size \(kbytes\): (\d+)/.exec(run.stderr ?? '')
  if (!rss)
    throw new Error(`${label}: /usr/bin/time gave no RSS (is GNU time installed?)\n${run.stderr}`)
  const result = { label, seconds, peakRssBytes: Number(rss[1]) * 1024, exitCode: run.status ?? -1 }
  if (result.exitCode !== 0)
    throw new Error(`${label} exited ${result.exitCode}:\n${run.stderr.slice(-2000)}`)
  return result
}

/**
 * `ours` against `theirs`, and the floor beside them when given: what any tool must spend on the
 * same input (see floor.ts), so the distance left to the floor reads off the table.
 */
export function report(ours: Measurement, theirs: Measurement, floor?: Measurement): string {
  const mib = (b: number) => `${(b / 1048576).toFixed(0)} MiB`
  const row = (m: Measurement) =>
    `${m.label.padEnd(64)} ${m.seconds.toFixed(2).padStart(8)} s ${mib(m.peakRssBytes).padStart(10)}`
  const lines = [row(ours), row(theirs)]
  if (floor) lines.push(row(floor))
  lines.push(
    `ratio: ${(theirs.seconds / ours.seconds).toFixed(1)}× faster, ${(theirs.peakRssBytes / ours.peakRssBytes).toFixed(1)}× less peak RSS` +
      (floor ? `; ${(ours.seconds / floor.seconds).toFixed(2)}× the floor` : ''),
  )
  return lines.join('\n')
}

/**
 * Rebuilds build/cli.mjs and build/profile-cli.mjs: bin/gomemdoctor.js falls back to compiling
 * src/ with tsx when a source is newer than its bundle, which would time tsx, not the CLI.
 */
export function buildBundles(): void {
  const script = new URL('../scripts/build-cli.ts', import.meta.url).pathname
  execFileSync(process.execPath, ['--import', 'tsx', script], { stdio: 'ignore' })
}

/** One line naming the machine and its load, printed before and after a bench's runs. */
export function machine(): string {
  const load = loadavg()
    .map(l => l.toFixed(2))
    .join(' ')
  return `${new Date().toISOString()} · ${cpus().length} × ${cpus()[0]?.model ?? '?'} · node ${process.version} · load average ${load}`
}

/** `go version` of the Go binary the bench runs (GO in the environment, else go on PATH). */
export function goVersion(go: string): string {
  return execFileSync(go, ['version'], { encoding: 'utf8' }).trim()
}
