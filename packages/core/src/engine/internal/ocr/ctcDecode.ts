/**
 * Greedy CTC decoding of the recogniser's output: at each step take the most likely class, merge repeats, drop the
 * blank (class 0). Classes 1..n are the dictionary's characters in file order and the last class is the space
 * (PaddleOCR's `use_space_char`). Each character keeps the steps it spans, which word-space recovery uses to place
 * it in the strip, and the line's confidence is the mean of its characters' probabilities.
 */

/** A decoded character and the output steps it spans (inclusive). */
export interface CtcChar {
  readonly char: string
  readonly first: number
  readonly last: number
  readonly prob: number
}

/** A decoded line. */
export interface CtcLine {
  readonly chars: ReadonlyArray<CtcChar>
  /** The number of output steps. */
  readonly steps: number
  /** The mean probability of the decoded characters (0 when there are none). */
  readonly confidence: number
}

/** The recogniser's classes: index 0 blank, then the dictionary, then the space. */
export const ctcClasses = (dictionary: string): ReadonlyArray<string> => {
  const chars = dictionary.split(/\r?\n/)
  if (chars[chars.length - 1] === "") chars.pop()
  return ["", ...chars, " "]
}

/**
 * A class with more than half of a step's probability is its most likely one (the probabilities sum to 1; the margin
 * covers float rounding of that sum).
 */
const SURE = 0.5 + 1e-4

/** Decodes line `n` of a `[batch, steps, classes]` probability tensor. */
export const ctcDecode = (
  probs: Float32Array,
  n: number,
  steps: number,
  classes: ReadonlyArray<string>
): CtcLine => {
  const k = classes.length
  const chars: Array<CtcChar> = []
  let prev = 0
  let current: { char: string; first: number; last: number; prob: number } | undefined
  for (let t = 0; t < steps; t++) {
    const base = (n * steps + t) * k
    let best = 0
    let bestP = probs[base]!
    // most steps are the blank's or the previous step's class, mostly well over half the step's probability: then it
    // is the most likely class, and the other 6624 need not be looked at
    if (bestP <= SURE && probs[base + prev]! > SURE) {
      best = prev
      bestP = probs[base + prev]!
    } else if (bestP <= SURE) {
      for (let c = 1; c < k; c++) {
        const p = probs[base + c]!
        if (p > bestP) {
          bestP = p
          best = c
        }
      }
    }
    if (best !== 0 && best === prev && current !== undefined) {
      current.last = t
      if (bestP > current.prob) current.prob = bestP
    } else if (best !== 0) {
      current = { char: classes[best] ?? "", first: t, last: t, prob: bestP }
      chars.push(current)
    } else current = undefined
    prev = best
  }
  return { chars, steps, confidence: meanProb(chars) }
}

/** The mean probability of some decoded characters (0 when there are none): a line's or a part's confidence. */
export const meanProb = (chars: ReadonlyArray<CtcChar>): number => {
  let sum = 0
  for (const c of chars) sum += c.prob
  return chars.length === 0 ? 0 : sum / chars.length
}
