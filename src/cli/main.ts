import type { Command } from 'commander'
import { NETNS_RELAY_COMMAND, runNetnsRelay } from '../sources/transports/netns.ts'
import type { CliCommand, CommandResult } from './command.ts'
import { demoCommand } from './commands/demo.ts'
import { diagnoseCommand } from './commands/diagnose.ts'
import { fleetCommand } from './commands/fleet.ts'
import { goroutinesCommand } from './commands/goroutines.ts'
import { profileCommand } from './commands/profile.ts'
import { recordCommand } from './commands/record.ts'
import { reportCommand } from './commands/report.ts'
import { watchCommand } from './commands/watch.ts'
import { buildProgram as buildProgramOf, runProgram } from './program.ts'

/** Every sub-command, one line each. */
const COMMANDS: readonly CliCommand[] = [
  diagnoseCommand,
  demoCommand,
  profileCommand,
  goroutinesCommand,
  fleetCommand,
  recordCommand,
  reportCommand,
  watchCommand,
]

/** Runs the CLI and returns the exit code (program.ts prints errors and decides codes). */
export function run(argv: readonly string[]): Promise<number> {
  // Not a user's command: the half of the network-namespace relay that nsenter runs inside the
  // target's namespace (sources/transports/netns.ts).
  if (argv[0] === NETNS_RELAY_COMMAND) return runNetnsRelay(argv.slice(1))
  return runProgram(argv, COMMANDS)
}

/** The command tree; `done` receives the result of whichever command runs. */
export function buildProgram(done: (result: CommandResult) => void): Command {
  return buildProgramOf(COMMANDS, done)
}
