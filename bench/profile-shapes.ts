/**
 * The two profile shapes that profile-top.bench.ts and profile-diff.bench.ts measure, generated
 * into the bench directory on first use, and `--shape wide|deep` to run one of them (the wide
 * shape's pprof runs take minutes on a slow day).
 */
import { existsSync, mkdirSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { writeDeepProfile } from './gen-deep-profile.ts'
import { writeHeapProfile } from './gen-heap-profile.ts'

export interface ProfileShape {
  key: 'wide' | 'deep'
  name: string
  file: string
  /** Rounds of go tool pprof (gomemdoctor runs three times a round). */
  runs: number
}

export const benchDir = join(tmpdir(), 'gomemdoctor-bench')

const allShapes: (ProfileShape & { write: (file: string) => void })[] = [
  {
    key: 'wide',
    name: 'wide: 1,000,000 samples 5–24 deep over 100,000 locations',
    file: join(benchDir, 'heap-1M-samples-v2.pb.gz'),
    write: writeHeapProfile,
    runs: 3,
  },
  {
    key: 'deep',
    name: 'deep: 120,000 samples 20–59 deep (20,000 leaves × 3 sites × 2 chains)',
    file: join(benchDir, 'heap-deep.pb.gz'),
    write: writeDeepProfile,
    runs: 5,
  },
]

/** The shapes that `--shape` names (all without it), each file generated if missing. */
export function shapesFromArgs(): ProfileShape[] {
  const { values } = parseArgs({ options: { shape: { type: 'string' } } })
  const shapes = allShapes.filter(shape => values.shape === undefined || shape.key === values.shape)
  if (shapes.length === 0) {
    console.error(`--shape must be one of ${allShapes.map(shape => shape.key).join(', ')}`)
    process.exit(2)
  }
  mkdirSync(benchDir, { recursive: true })
  for (const shape of shapes)
    if (!existsSync(shape.file)) {
      const started = Date.now()
      shape.write(shape.file)
      console.log(`generated ${shape.file} in ${((Date.now() - started) / 1000).toFixed(1)} s`)
    }
  return shapes
}
