import { describe, expect, it } from 'vitest'
import { checksum, normalizeText } from './checksum.js'

describe('checksum', () => {
  const lf = 'create table a (x);\n-- litepool:down\ndrop table a;\n'

  it('ignores line endings (CRLF, lone CR) and a UTF-8 BOM', () => {
    expect(checksum(lf.replaceAll('\n', '\r\n'))).toBe(checksum(lf))
    expect(checksum(lf.replaceAll('\n', '\r'))).toBe(checksum(lf))
    expect(checksum(`\uFEFF${lf}`)).toBe(checksum(lf))
    expect(normalizeText('a\r\nb\rc\n')).toBe('a\nb\nc\n')
  })

  it('changes with any other edit, whitespace included', () => {
    expect(checksum(lf.replace('x', 'y'))).not.toBe(checksum(lf))
    expect(checksum(lf.replace('table a', 'table  a'))).not.toBe(checksum(lf))
    expect(checksum(`${lf}\n`)).not.toBe(checksum(lf))
    expect(checksum(lf)).toMatch(/^[0-9a-f]{64}$/)
  })
})
