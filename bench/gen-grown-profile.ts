/**
 * A later profile of the same program, for `profile diff`: the same stacks, every tenth sample's
 * values doubled (what grew), every fiftieth zeroed (what went away), so a diff has positive,
 * negative and cancelled rows. Deterministic: the same input always gives the same profile.
 */
import type { Profile } from '../src/model/heap-profile.ts'

export function grownProfile(p: Profile): Profile {
  const width = p.sampleTypes.length
  const values = Float64Array.from(p.samples.values)
  for (let s = 0; s < p.samples.count; s++) {
    const factor = s % 50 === 7 ? 0 : s % 10 === 3 ? 2 : 1
    for (let t = 0; t < width; t++)
      values[s * width + t] = (values[s * width + t] as number) * factor
  }
  return { ...p, source: `${p.source} (grown)`, samples: { ...p.samples, values } }
}
