import type { CliCommand } from '../command.ts'
import { ExitCode } from '../exit-codes.ts'

export const diagnoseCommand: CliCommand = {
  register(program, done) {
    program
      .command('diagnose')
      .description('diagnose a live Go process (PID or URL) or captured files')
      .argument('[target]', 'a PID, a base URL, or a directory of captures')
      .action(() => done({ exitCode: ExitCode.Ok }))
  },
}
