/**
 * `gomemdoctor profile top` against `go tool pprof -top -sample_index=inuse_space` on the same
 * generated 1M-sample heap profile: wall time and peak RSS of each, and the ratios.
 * Not part of the test suite: `node --import tsx bench/profile-top.bench.ts` (go tool pprof takes
 * 7–25 s a run and ~2.7 GB here, so this takes about a minute).
 */
import { existsSync, mkdirSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { writeHeapProfile } from './gen-heap-profile.ts'
import { measure, report } from './measure.ts'

const bin = fileURLToPath(new URL('../bin/gomemdoctor.js', import.meta.url))
const dir = join(tmpdir(), 'gomemdoctor-bench')
mkdirSync(dir, { recursive: true })
const file = join(dir, 'heap-1M-samples.pb.gz')
if (!existsSync(file)) {
  const started = Date.now()
  writeHeapProfile(file)
  console.log(`generated ${file} in ${((Date.now() - started) / 1000).toFixed(1)} s`)
}
console.log(
  `${file}: ${(statSync(file).size / 1048576).toFixed(1)} MiB gzipped, 1,000,000 samples, 100,000 locations`,
)

const args = [bin, 'profile', 'top', file, '-n', '20']
const ours = measure('gomemdoctor profile top', process.execPath, args, 3)
// Best of three for both: a busy machine slows either, and one slow run of go tool pprof would
// flatter the ratio.
const go = measure(
  'go tool pprof -top -sample_index=inuse_space',
  'go',
  ['tool', 'pprof', '-top', '-sample_index=inuse_space', file],
  3,
)
console.log(report(ours, go))
