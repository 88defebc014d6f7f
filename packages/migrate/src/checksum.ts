import { createHash } from 'node:crypto'

/**
 * The text a checksum is computed over: a leading UTF-8 BOM removed and every line ending (`\r\n`
 * or a lone `\r`) turned into `\n`, so a checkout with `core.autocrlf` is not "edited".
 *
 * @example
 * ```ts
 * normalizeText('\uFEFFcreate table a(x);\r\n') // 'create table a(x);\n'
 * ```
 */
export function normalizeText(text: string): string {
  return (text.charCodeAt(0) === 0xfeff ? text.slice(1) : text).replace(/\r\n?/g, '\n')
}

/**
 * SHA-256 (hex) of {@link normalizeText}`(text)`: what the history table stores per migration.
 *
 * @example
 * ```ts
 * checksum('select 1;\r\n') === checksum('select 1;\n') // true
 * ```
 */
export function checksum(text: string): string {
  return createHash('sha256').update(normalizeText(text), 'utf8').digest('hex')
}
