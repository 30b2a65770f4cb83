// How long the parsers take to refuse pathological inputs: the cases the format tests check for
// their one-line error, timed here instead (a test's timing fails on a busy CI machine; a
// regression to quadratic time shows here as seconds instead of milliseconds).
//   node --import tsx bench/hostile-inputs.bench.ts
import { loadavg } from 'node:os'
import { InputError } from '../src/errors.ts'
import { parsePromText } from '../src/sources/formats/prom-text.ts'
import { hugeLine, textCapture } from '../test/helpers/format-fixtures.ts'

const MiB = 2 ** 20
const cases: [string, string][] = [
  ['prom-text: 10 MB single line', hugeLine()],
  ['prom-text: 10 MB label value', `m{a="${hugeLine()}`],
  ['prom-text: 10 MB of escapes', `m{a="${'\\\\'.repeat(5 * MiB)}`],
  ['prom-text: 10 MB of blanks then text', `${' '.repeat(10 * MiB)}x`],
]

console.log(
  `load average ${loadavg()
    .map(l => l.toFixed(1))
    .join(' ')}, best of 5 each`,
)
for (const [name, text] of cases) {
  let best = Number.POSITIVE_INFINITY
  for (let run = 0; run < 5; run++) {
    const started = process.hrtime.bigint()
    try {
      parsePromText(textCapture('prom-text', text, name))
      throw new Error(`${name}: accepted`)
    } catch (error) {
      if (!(error instanceof InputError)) throw error
    }
    best = Math.min(best, Number(process.hrtime.bigint() - started) / 1e6)
  }
  const mb = Buffer.byteLength(text) / MiB
  console.log(
    `${name.padEnd(40)} ${best.toFixed(1).padStart(8)} ms  ${(mb / (best / 1000)).toFixed(0)} MiB/s`,
  )
}
