import { cgroupLimitRisk } from './cgroup-limit-risk.ts'
import type { Detector } from './detector.ts'
import { fragmentation } from './fragmentation.ts'
import { gcHeapGoal } from './gc-heap-goal.ts'
import { heapGrowth } from './heap-growth.ts'
import { madvFreeRetention } from './madv-free-retention.ts'
import { scavengerLag } from './scavenger-lag.ts'

/** Every detector, one line each. Order does not matter: diagnose() ranks the findings. */
export const DETECTORS: readonly Detector[] = [
  madvFreeRetention,
  scavengerLag,
  cgroupLimitRisk,
  heapGrowth,
  gcHeapGoal,
  fragmentation,
]
