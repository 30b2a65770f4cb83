import assert from 'node:assert/strict'
import { test } from 'node:test'
import { escapeHtml, inlineCode, jsonForScript } from './escape.ts'

const HOSTILE = '</script><script>alert(1)</script><!-- & \u2028\u2029 "\' <img onerror=x>'

test('jsonForScript leaves no character that can end or bend a script element, and parses back', () => {
  const value = { name: HOSTILE, nested: [HOSTILE] }
  const text = jsonForScript(value)
  assert.doesNotMatch(text, /[<>&\u2028\u2029]/)
  assert.deepEqual(JSON.parse(text), value)
})

test('escapeHtml escapes the five characters markup and attributes need', () => {
  assert.equal(
    escapeHtml(`<a href="x" title='y'>&</a>`),
    '&lt;a href=&quot;x&quot; title=&#39;y&#39;&gt;&amp;&lt;/a&gt;',
  )
})

test('inlineCode keeps bundled code from closing its element early', () => {
  assert.equal(inlineCode('x="</script>";y="</SCRIPT"', 'script'), 'x="<\\/script>";y="<\\/SCRIPT"')
  assert.equal(inlineCode('a{content:"</style>"}', 'style'), 'a{content:"<\\/style>"}')
})
