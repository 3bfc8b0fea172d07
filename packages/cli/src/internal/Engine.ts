/**
 * The engine, loaded on first use: the standalone server's assembly (@scriptorium/example-server) and the core's
 * facade. Importing them loads pdf.js, onnxruntime and sharp, about a second of start-up; commands that only talk
 * to a server (submit, status, list, cancel) never pay for it.
 */
import { Effect } from "effect"

/** The modules of the engine, imported once. */
export const load = Effect.promise(async () => {
  const [server, core] = await Promise.all([import("@scriptorium/example-server"), import("@scriptorium/core")])
  return { server, core }
})
