/**
 * Text from errors we did not raise ourselves (a library's exception, a thrown value), in the two forms our
 * messages need. One place, so every sentence a user reads quotes foreign errors the same way.
 */

/** The message of anything thrown: an Error's message (or name), an object's `message`, or the value as text. */
export const messageOf = (error: unknown): string => {
  if (error instanceof Error) return error.message || error.name
  if (typeof error === "object" && error !== null && "message" in error) return String(error.message)
  return String(error)
}

/**
 * A foreign error as a clause to sit inside one of our sentences: its first line, whitespace squashed, without
 * closing punctuation, at most 200 characters, starting lower-case unless it starts with an acronym.
 */
export const asClause = (error: unknown): string => {
  const line = messageOf(error).split("\n").map((l) => l.replace(/\s+/g, " ").trim()).find((l) => l !== "")
  const short = (line ?? "unknown error").replace(/[.:]+$/, "").slice(0, 200)
  return /^[A-Z][a-z]/.test(short) ? short[0]!.toLowerCase() + short.slice(1) : short
}
