/**
 * The floor under any tool that reads a gzipped profile or a dump: Node starting, reading the file,
 * inflating it when gzipped, and one pass over its bytes (counting those that end a varint, so
 * the loop is not optimised away), decoding nothing. Run as its own process (`node -e`), so its
 * wall time and peak RSS compare with a whole `gomemdoctor` run; each step's milliseconds go to
 * stderr.
 */
import { spawnSync } from 'node:child_process'

/** Plain JavaScript: the floor must not pay for tsx. */
const FLOOR_PROGRAM = `
const { readFileSync } = require('node:fs')
const { gunzipSync } = require('node:zlib')
const t0 = performance.now()
const file = readFileSync(process.argv[1])
const t1 = performance.now()
const raw = file[0] === 0x1f && file[1] === 0x8b ? gunzipSync(file) : file
const t2 = performance.now()
let ends = 0
for (let i = 0; i < raw.length; i++) if (raw[i] < 0x80) ends++
const t3 = performance.now()
process.stderr.write('floor: start ' + t0.toFixed(0) + ' ms, read ' + (t1 - t0).toFixed(0) + ' ms, inflate ' + (t2 - t1).toFixed(0) + ' ms, one pass ' + (t3 - t2).toFixed(0) + ' ms over ' + raw.length + ' bytes (' + ends + ' varint ends)\\n')
`

/** The floor's steps from one run, e.g. "start 38 ms, read 20 ms, inflate 281 ms, one pass 117 ms". */
export function floorSteps(file: string): string {
  const run = spawnSync(process.execPath, ['-e', FLOOR_PROGRAM, file], { encoding: 'utf8' })
  return (/floor: (.*)/.exec(run.stderr)?.[1] ?? run.stderr).trim()
}

export function floorCommand(file: string): [string, string[]] {
  return [process.execPath, ['-e', FLOOR_PROGRAM, file]]
}
