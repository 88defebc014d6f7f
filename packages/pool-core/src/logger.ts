/**
 * A structured logger. pino, bunyan-style and console-like loggers fit: each method takes a
 * fields object first and a message second (`logger.warn({ event, ms }, 'text')`).
 */
export interface Logger {
  debug?(fields: Record<string, unknown>, message: string): void
  info?(fields: Record<string, unknown>, message: string): void
  warn(fields: Record<string, unknown>, message: string): void
  error(fields: Record<string, unknown>, message: string): void
}

/** The default logger: warnings and errors to stderr, nothing else. */
export const consoleLogger: Logger = {
  warn: (fields, message) => console.warn(`[litepool] ${message}`, fields),
  error: (fields, message) => console.error(`[litepool] ${message}`, fields),
}

/** A logger that drops everything (for tests and for callers who rely on events only). */
export const silentLogger: Logger = { warn: () => {}, error: () => {} }
