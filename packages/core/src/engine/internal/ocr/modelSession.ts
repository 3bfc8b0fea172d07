/**
 * Loading a model into an onnxruntime session, with its graph rewritten first (graphFusion.ts) unless told not to:
 * one way for the OCR engine and the recogniser threads to build their sessions, so both run the same graph. The
 * rewrite is done once (`modelSource`) and its bytes handed to every session that runs the model.
 */
import { readFileSync } from "node:fs"
import * as ort from "onnxruntime-node"
import { messageOf } from "../../../internal/ErrorText.js"
import { fuseGraph } from "./graphFusion.js"

/** onnxruntime's options for an OCR model: `threads` per run, operators one after another, every optimisation. */
export const sessionOptions = (threads: number): ort.InferenceSession.SessionOptions => ({
  intraOpNumThreads: threads,
  interOpNumThreads: 1,
  executionMode: "sequential",
  graphOptimizationLevel: "all"
})

/**
 * The model at `path` as a session is to load it: its rewritten graph's bytes, or the path itself when `fuse` is
 * off or there is nothing to rewrite (or the model keeps its weights in other files). Throws when the file cannot be
 * read or parsed.
 */
export const modelSource = (path: string, fuse: boolean): string | Uint8Array => {
  if (!fuse) return path
  const fused = fuseGraph(new Uint8Array(readFileSync(path)))
  return Object.values(fused.rewrites).some((n) => n > 0) ? fused.bytes : path
}

/** A session for a model from `modelSource`. */
export const loadSession = (
  source: string | Uint8Array,
  options: ort.InferenceSession.SessionOptions
): Promise<ort.InferenceSession> =>
  typeof source === "string"
    ? ort.InferenceSession.create(source, options)
    : ort.InferenceSession.create(source, options).catch((e: unknown) => {
      throw new Error(`the rewritten graph (fuseGraphs: false loads the file unchanged): ${messageOf(e)}`)
    })
