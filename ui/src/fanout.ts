import type { FanoutResult } from "./bindings";

/** Whether a fan-out instance failed: no answer, or an Aduib error envelope. */
export function fanoutFailed(r: FanoutResult): boolean {
  return r.error !== null || (r.response as { status?: unknown } | null)?.status !== "success";
}
