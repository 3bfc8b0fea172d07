/**
 * Operator allow-lists of hosts, for the URLs the server itself requests on a caller's behalf (a submission's
 * `file_url`, a job's `webhook_url`): one matching rule everywhere, so the two lists mean the same thing.
 */

const defaultPort = (url: URL) => url.port !== "" ? url.port : url.protocol === "https:" ? "443" : "80"

/** True when the URL's host is on the list: as a bare host (any port), or as `host:port`; case-insensitive. */
export const isAllowedHost = (url: URL, allowedHosts: ReadonlyArray<string>): boolean => {
  const hostname = url.hostname.toLowerCase()
  const withPort = `${hostname}:${defaultPort(url)}`
  return allowedHosts.some((entry) => {
    const allowed = entry.trim().toLowerCase()
    return allowed === hostname || allowed === withPort
  })
}
