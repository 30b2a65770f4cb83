import { cgroupLimitRisk } from './cgroup-limit-risk.ts'
import type { Detector } from './detector.ts'
import { fileMapped } from './file-mapped.ts'
import { fragmentation } from './fragmentation.ts'
import { gcHeapGoal } from './gc-heap-goal.ts'
import { goroutineLeak } from './goroutine-leak.ts'
import { heapGrowth } from './heap-growth.ts'
import { madvFreeRetention } from './madv-free-retention.ts'
import { nonGoMemory } from './non-go-memory.ts'
import { scavengerLag } from './scavenger-lag.ts'
import { thpBloat } from './thp-bloat.ts'

/** Every detector, one line each. Order does not matter: diagnose() ranks the findings. */
export const DETECTORS: readonly Detector[] = [
  madvFreeRetention,
  scavengerLag,
  cgroupLimitRisk,
  fileMapped,
  nonGoMemory,
  thpBloat,
  heapGrowth,
  gcHeapGoal,
  fragmentation,
  goroutineLeak,
]
