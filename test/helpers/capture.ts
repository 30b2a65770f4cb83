import { fileURLToPath } from 'node:url'
import type { DetectorInput } from '../../src/detectors/detector.ts'
import { assemble } from '../../src/sources/assemble.ts'
import { readCaptureDir, type SavedRun } from '../../src/sources/transports/capture-dir.ts'

const CAPTURES = fileURLToPath(new URL('../../testdata/captures/', import.meta.url))

/** The path of a committed capture: 'go1.19-linux6.18/madv-free-retention'. */
export function capturePath(name: string): string {
  return CAPTURES + name
}

/** A committed capture read back through the real transports and formats, as a replay would. */
export async function loadRun(name: string): Promise<SavedRun> {
  return readCaptureDir(capturePath(name))
}

/** A committed capture as detector input: the same path `diagnose DIR` takes. */
export async function loadCapture(name: string): Promise<DetectorInput> {
  const run = await loadRun(name)
  const { gaps, ...evidence } = assemble(run.captures)
  return { ...evidence, gaps: [...run.gaps, ...gaps] }
}

/** The same input with one part removed from every sample, as if it had not been readable. */
export function withoutPart(
  input: DetectorInput,
  part: 'rollup' | 'runtime' | 'status' | 'cgroup',
): DetectorInput {
  return {
    ...input,
    series: input.series.map(snapshot => {
      const { [part]: _removed, ...rest } = snapshot
      return rest
    }),
  }
}

export const GO119 = 'go1.19-linux6.18'
