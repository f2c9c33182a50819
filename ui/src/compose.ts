// What the Composer edits, and how it becomes an engine Request.
import type { AduibTransport, CallMode, Discovery, Header, Request, TlsSettings } from "./bindings";

export type Kind = "aduib" | "grpc" | "thrift" | "jsonrpc" | "http";

export type Draft = {
  kind: Kind;
  transport: AduibTransport;
  mode: CallMode;
  target: string;
  method: string;
  body: string;
  headers: string;
  timeoutMs: string;
  /** Thrift: the IDL file (searched in the demo's thrift folder). */
  idl: string;
  httpMethod: string;
  /** An Aduib call to a service in a registry instead of `target`. */
  discovery?: Discovery | null;
  /** TLS for Aduib (not Thrift) and gRPC calls; absent is plaintext. */
  tls?: TlsSettings | null;
};

/** Whether the draft's call can go over TLS. */
export function tlsApplies(draft: Pick<Draft, "kind" | "transport">): boolean {
  return draft.kind === "grpc" || (draft.kind === "aduib" && draft.transport !== "thrift");
}

/** TLS settings without the empty fields a form leaves behind. */
function tlsOf(draft: Draft): { tls?: TlsSettings } {
  if (!draft.tls || !tlsApplies(draft)) return {};
  const tls: TlsSettings = { insecure: draft.tls.insecure };
  for (const key of ["ca_cert", "client_cert", "client_key", "server_name"] as const) {
    const value = draft.tls[key]?.trim();
    if (value) tls[key] = value;
  }
  if (Boolean(tls.client_cert) !== Boolean(tls.client_key)) {
    throw new DraftError("A client certificate needs its key, and a key its certificate");
  }
  return { tls };
}

/** Where the embedded server listens: its defaults until it reports its own. */
export const DEFAULT_TARGETS: Record<AduibTransport, string> = {
  jsonrpc: "http://127.0.0.1:17101",
  rest: "http://127.0.0.1:17102",
  grpc: "127.0.0.1:17103",
  thrift: "127.0.0.1:17104",
};

export function newDraft(): Draft {
  return {
    kind: "aduib",
    transport: "jsonrpc",
    mode: "unary",
    target: DEFAULT_TARGETS.jsonrpc,
    method: "CaculService.add",
    body: '{\n  "x": 1,\n  "y": 2\n}',
    headers: "",
    timeoutMs: "",
    idl: "rich.thrift",
    httpMethod: "GET",
  };
}

/** `Name: value` lines; blank lines and lines without a colon are skipped. */
export function parseHeaders(text: string): Header[] {
  return text
    .split("\n")
    .map((line) => line.trim())
    .filter((line) => line.includes(":") && !line.startsWith("#"))
    .map((line) => {
      const at = line.indexOf(":");
      return { name: line.slice(0, at).trim(), value: line.slice(at + 1).trim() };
    })
    .filter((h) => h.name.length > 0);
}

export class DraftError extends Error {}

function parseJson(text: string, what: string): unknown {
  if (text.trim() === "") return {};
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new DraftError(`${what} is not valid JSON: ${(e as Error).message}`);
  }
}

/** Whether this draft opens a stream the user feeds message by message. */
export function isInteractive(draft: Draft): boolean {
  return (
    (draft.kind === "aduib" && (draft.mode === "client_stream" || draft.mode === "bidi")) ||
    (draft.kind === "grpc" && (draft.mode === "client_stream" || draft.mode === "bidi"))
  );
}

export function toRequest(draft: Draft): Request {
  const timeout = draft.timeoutMs.trim() === "" ? undefined : Number(draft.timeoutMs);
  if (timeout !== undefined && !(Number.isInteger(timeout) && timeout > 0)) {
    throw new DraftError("The deadline must be a whole number of milliseconds");
  }
  const options = { headers: parseHeaders(draft.headers), ...(timeout ? { timeout_ms: timeout } : {}) };
  switch (draft.kind) {
    case "aduib": {
      const interactive = isInteractive(draft);
      const data = parseJson(draft.body, "The body");
      if (!interactive && (typeof data !== "object" || data === null || Array.isArray(data))) {
        throw new DraftError("An Aduib call's data must be a JSON object");
      }
      return {
        kind: "aduib",
        transport: draft.transport,
        url: draft.target,
        method: draft.method,
        mode: draft.mode,
        data: interactive ? {} : (data as Record<string, unknown>),
        interactive,
        options,
        ...tlsOf(draft),
        ...(draft.discovery ? { discovery: draft.discovery } : {}),
      };
    }
    case "grpc":
      if (draft.body.trim() !== "") parseJson(draft.body, "The body");
      return {
        kind: "grpc",
        target: draft.target,
        method: draft.method,
        body: isInteractive(draft) ? "" : draft.body,
        schema: { protos: [], includes: [] },
        gzip: false,
        interactive: isInteractive(draft),
        options,
        ...tlsOf(draft),
      };
    case "thrift":
      return {
        kind: "thrift",
        target: draft.target,
        idl: draft.idl,
        // The engine searches the workspace's schema folders.
        includes: [],
        method: draft.method,
        args: parseJson(draft.body, "The arguments") as Record<string, unknown>,
        protocol: "binary",
        framing: "buffered",
        multiplexed: draft.method.split(".")[0],
        options,
      };
    case "jsonrpc":
      return { kind: "jsonrpc", url: draft.target, payload: parseJson(draft.body, "The payload"), options };
    case "http":
      return {
        kind: "http",
        method: draft.httpMethod,
        url: draft.target,
        ...(draft.body.trim() ? { body: draft.body } : {}),
        options,
      };
  }
}

/** A recorded request back into a draft, to edit and send again. */
export function fromRequest(request: Request): Draft {
  const base = newDraft();
  const pretty = (v: unknown) => JSON.stringify(v, null, 2);
  const headers = (request.options.headers ?? []).map((h) => `${h.name}: ${h.value}`).join("\n");
  const timeoutMs = request.options.timeout_ms ? String(request.options.timeout_ms) : "";
  switch (request.kind) {
    case "aduib":
      return {
        ...base, kind: "aduib", transport: request.transport, mode: request.mode, target: request.url,
        method: request.method, body: pretty(request.data), headers, timeoutMs,
        discovery: request.discovery ?? null, tls: request.tls ?? null,
      };
    case "grpc":
      return {
        ...base, kind: "grpc", target: request.target, method: request.method, body: request.body, headers, timeoutMs,
        tls: request.tls ?? null,
        // Until the method's descriptor says which stream it is.
        mode: request.interactive ? "bidi" : "unary",
      };
    case "thrift":
      return {
        ...base, kind: "thrift", target: request.target, method: request.method, idl: request.idl,
        body: pretty(request.args), headers, timeoutMs,
      };
    case "jsonrpc":
      return { ...base, kind: "jsonrpc", target: request.url, method: "", body: pretty(request.payload), headers, timeoutMs };
    case "http":
      return { ...base, kind: "http", target: request.url, httpMethod: request.method, body: request.body ?? "", headers, timeoutMs };
  }
}

/** Adopts the embedded server's endpoints as the default targets; returns the old ones. */
export function adoptEndpoints(endpoints: { transport: string; url: string }[]): Record<AduibTransport, string> {
  const before = { ...DEFAULT_TARGETS };
  for (const e of endpoints) {
    const transport = (e.transport === "json-rpc" ? "jsonrpc" : e.transport) as AduibTransport;
    if (transport in DEFAULT_TARGETS) {
      DEFAULT_TARGETS[transport] = transport === "grpc" || transport === "thrift" ? e.url.replace(/^[a-z]+:\/\//, "") : e.url;
    }
  }
  return before;
}
