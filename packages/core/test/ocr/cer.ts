/** Character error rates for the OCR tests. */

/** Levenshtein distance. */
export const distance = (a: string, b: string): number => {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j)
  for (let i = 1; i <= a.length; i++) {
    const cur = [i]
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1))
    }
    prev = cur
  }
  return prev[b.length]!
}

/** The character error rate of `hypothesis` against `reference`: edits per reference character. */
export const cer = (hypothesis: string, reference: string): number =>
  distance(hypothesis, reference) / Math.max(1, reference.length)
