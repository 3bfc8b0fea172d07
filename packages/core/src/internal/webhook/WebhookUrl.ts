/**
 * Which webhook URLs a server delivers to: http(s) only, without credentials in the URL, and, when the operator
 * configured an allow-list, only to the hosts on it (`host` or `host:port`), so a job cannot aim the server's POSTs at
 * internal addresses. Checked at submit (to refuse early) and again before every attempt (the list may have changed).
 */
import { Either } from "effect"
import { isAllowedHost } from "../../AllowedHosts.js"

/** The URL, parsed, or why it is refused. */
export const checkWebhookUrl = (
  url: string,
  allowedHosts: ReadonlyArray<string> | undefined
): Either.Either<URL, string> => {
  let parsed: URL
  try {
    parsed = new URL(url)
  } catch {
    return Either.left("it is not an absolute URL")
  }
  if (parsed.protocol !== "http:" && parsed.protocol !== "https:") {
    return Either.left(`its scheme is ${parsed.protocol.replace(/:$/, "")}, not http or https`)
  }
  if (parsed.username !== "" || parsed.password !== "") return Either.left("it carries credentials")
  if (allowedHosts !== undefined && !isAllowedHost(parsed, allowedHosts)) {
    return Either.left(`its host ${parsed.host} is not on the webhook allow-list`)
  }
  return Either.right(parsed)
}
