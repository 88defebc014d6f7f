import { describe, expect, it } from 'vitest'
import { median, quantile, round } from './stats.js'

describe('stats', () => {
  it('takes nearest-rank quantiles of unsorted values', () => {
    const values = [5, 1, 4, 2, 3, 10, 9, 8, 7, 6]
    expect(quantile(values, 0.5)).toBe(5)
    expect(quantile(values, 0.99)).toBe(10)
    expect(quantile(values, 0)).toBe(1)
    expect(quantile([], 0.5)).toBeNaN()
  })

  it('takes the median of odd and even lists without reordering the input', () => {
    const values = [3, 1, 2]
    expect(median(values)).toBe(2)
    expect(values).toEqual([3, 1, 2])
    expect(median([4, 1, 3, 2])).toBe(2.5)
  })

  it('rounds to significant digits and leaves non-finite values alone', () => {
    expect(round(123456.789)).toBe(123500)
    expect(round(0.000123456, 3)).toBe(0.000123)
    expect(round(Number.POSITIVE_INFINITY)).toBe(Number.POSITIVE_INFINITY)
  })
})
