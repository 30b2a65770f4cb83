/** DESIGN.md's exit codes. Only cli/main.ts turns them into the process's exit status. */
export const ExitCode = {
  /** The diagnosis ran (whatever it found below --fail-on). */
  Ok: 0,
  /** A finding at or above --fail-on; with --fail-on inconclusive, also a detector that could not judge. */
  Finding: 1,
  /** Bad usage or bad input. */
  BadInput: 2,
  /** The target could not be reached or read. */
  Unreachable: 3,
} as const
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode]
