/**
 * The README's command lines against the CLI itself: every command and option the README shows
 * exists, on the command it is shown with. Docs that drift from the behaviour fail here, not in
 * a user's terminal.
 */
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { test } from 'node:test'
import type { Command } from 'commander'
import { buildProgram } from '../src/cli/main.ts'

const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8')
const program = buildProgram(() => {})

/** Every `gomemdoctor …` invocation in the README's code blocks and inline code. */
function invocations(text: string): string[][] {
  const found: string[][] = []
  const snippets = [
    ...[...text.matchAll(/```(?:sh|bash)?\n([\s\S]*?)```/g)].flatMap(m => (m[1] ?? '').split('\n')),
    ...[...text.matchAll(/`([^`\n]*gomemdoctor [^`\n]*)`/g)].map(m => m[1] ?? ''),
  ]
  for (const line of snippets) {
    // Command lines, not the sample output shown beside them ("gomemdoctor · pid 1029 …").
    if (!/(^|&& |npx )gomemdoctor (?!·)/.test(line.trim())) continue
    const code = line.replace(/\s#\s.*$/, '')
    for (const part of code.split(/&&|\|/)) {
      // Quoted arguments ('{job="api"}') are values, never options.
      const words = part
        .replace(/'[^']*'|"[^"]*"/g, 'VALUE')
        .trim()
        .split(/\s+/)
      const at = words.indexOf('gomemdoctor')
      if (at >= 0) found.push(words.slice(at + 1))
    }
  }
  return found
}

/** The command a word list runs (sub-commands followed), and the options it names. */
function resolve(words: string[]): { command: Command; path: string; options: string[] } {
  let command = program
  let path = 'gomemdoctor'
  const options: string[] = []
  for (const word of words) {
    if (word.startsWith('-')) options.push(word.replace(/=.*$/, ''))
    else if (options.length === 0) {
      const sub = command.commands.find(c => c.name() === word)
      if (sub) {
        command = sub
        path += ` ${word}`
      }
    }
  }
  return { command, path, options }
}

test('every command line in the README runs a real command with options it has', () => {
  const lines = invocations(readme)
  assert.ok(lines.length >= 15, `found only ${lines.length} command lines`)
  const wrong: string[] = []
  const used = new Set<string>()
  for (const words of lines) {
    const { command, path, options } = resolve(words)
    used.add(path)
    // [--json] in a usage line is an option too.
    for (const raw of options) {
      const flag = raw.replace(/^\[/, '').replace(/\]$/, '')
      const known = [command, program].some(c =>
        c.options.some(o => o.long === flag || o.short === flag),
      )
      if (!known && flag !== '--help' && flag !== '-h') wrong.push(`${path} ${flag}`)
    }
  }
  assert.deepEqual(wrong, [])
  // The README shows every command at least once.
  const all = program.commands.flatMap(c =>
    c.commands.length > 0
      ? c.commands.map(s => `gomemdoctor ${c.name()} ${s.name()}`)
      : [`gomemdoctor ${c.name()}`],
  )
  assert.deepEqual(
    all.filter(c => !used.has(c) && c !== 'gomemdoctor help'),
    [],
  )
})

test('the check can fail: an option the CLI lacks is reported', () => {
  const { command, options } = resolve(['diagnose', '4242', '--no-such-option'])
  assert.equal(command.name(), 'diagnose')
  assert.ok(!command.options.some(o => o.long === options[0]))
})
