/**
 * A long `record` of a real Go process: the recorder's RSS as the samples pile up. Starts
 * memsick's healthy scenario and records it at --interval 100ms for --duration (default 20m:
 * ~12,000 ticks of /proc status, smaps_rollup, cgroup files, /debug/vars and the pprof index,
 * with smaps, heap and goroutine profiles at both edges) under /usr/bin/time -v. Prints the
 * recorder's RSS at each quarter of the window (read from /proc), and its peak.
 *
 *   node --import tsx bench/record.bench.ts [--duration 20m] [--bin path/to/gomemdoctor.js]
 */
import { spawn } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { mkdtemp, stat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { startScenario } from '../src/demo/memsick.ts'
import { MiB, parseDuration } from '../src/model/units.ts'
import { openStore } from '../src/store/db.ts'
import { listRecordings } from '../src/store/recordings.ts'

const arg = (name: string) => {
  const i = process.argv.indexOf(name)
  return i > 0 ? process.argv[i + 1] : undefined
}
const BIN = arg('--bin') ?? fileURLToPath(new URL('../bin/gomemdoctor.js', import.meta.url))
const DURATION = arg('--duration') ?? '20m'
const durationMs = parseDuration(DURATION) ?? 0

/** VmRSS of a process in bytes, or undefined once it is gone. */
function rssOf(pid: number): number | undefined {
  try {
    const kb = /^VmRSS:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]
    return kb === undefined ? undefined : Number(kb) * 1024
  } catch {
    return undefined
  }
}

const target = await startScenario('healthy', { go: 'go1.26' })
try {
  const db = join(await mkdtemp(join(tmpdir(), 'gomemdoctor-bench-record-')), 'long.db')
  const args = [BIN, 'record', String(target.pid), '--out', db, '--interval', '100ms']
  const child = spawn('/usr/bin/time', ['-v', process.execPath, ...args, '--duration', DURATION], {
    stdio: ['ignore', 'ignore', 'pipe'],
  })
  let stderr = ''
  child.stderr.setEncoding('utf8').on('data', chunk => {
    stderr += chunk
  })
  const started = Date.now()
  const quarters: string[] = []
  const timer = setInterval(() => {
    const children = readFileSync(`/proc/${child.pid}/task/${child.pid}/children`, 'utf8')
    const recorder = Number(children.trim().split(/\s+/)[0])
    const quarter = Math.floor(((Date.now() - started) / durationMs) * 4)
    if (quarter > quarters.length && quarter <= 4) {
      const rss = rssOf(recorder)
      if (rss !== undefined) quarters.push(`${(rss / MiB).toFixed(0)}`)
    }
  }, 500)
  const code = await new Promise(resolve => child.once('close', resolve))
  clearInterval(timer)
  if (code !== 0) throw new Error(`record exited ${code}:\n${stderr.slice(-2000)}`)
  const peak = Number(/Maximum resident set size \(kbytes\): (\d+)/.exec(stderr)?.[1]) * 1024
  const store = openStore(db, { mode: 'read' })
  const ticks = listRecordings(store, db)[0]?.ticks ?? 0
  store.close()
  const size = (await stat(db)).size
  console.log(
    `| record --interval 100ms --duration ${DURATION} | ${ticks} ticks | RSS at ¼ ½ ¾ of the window: ${quarters.slice(0, 3).join(', ')} MiB | peak ${(peak / MiB).toFixed(0)} MiB | file ${(size / MiB).toFixed(1)} MiB |`,
  )
} finally {
  await target.stop()
}
