// "Copy as": the same request as an `aduib` command, a curl or a grpcurl line.
import type { Request } from "./bindings";

/** Quotes for a POSIX shell. */
export function shellQuote(text: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(text) ? text : `'${text.replace(/'/g, `'\\''`)}'`;
}

const json = (v: unknown) => JSON.stringify(v);

function headerFlags(request: Request, flag: string): string[] {
  return (request.options.headers ?? []).flatMap((h) => [flag, shellQuote(`${h.name}: ${h.value}`)]);
}

export function asAduib(request: Request): string {
  const timeout = request.options.timeout_ms ? ["--timeout-ms", String(request.options.timeout_ms)] : [];
  switch (request.kind) {
    case "aduib": {
      const command = { unary: "call", server_stream: "stream", client_stream: "client-stream", bidi: "bidi" }[
        request.mode
      ];
      return ["aduib", command, "--transport", request.transport, "--url", shellQuote(request.url), "--method",
        shellQuote(request.method), "--data", shellQuote(json(request.data)), ...headerFlags(request, "-H"), ...timeout,
      ].join(" ");
    }
    case "grpc":
      return ["aduib", "grpc", "call", shellQuote(request.target), shellQuote(request.method), "-d",
        shellQuote(request.body || "{}"), ...headerFlags(request, "-H"), ...timeout].join(" ");
    case "thrift":
      return ["aduib", "thrift", "call", shellQuote(request.target), "--idl", shellQuote(request.idl),
        shellQuote(request.method), "--data", shellQuote(json(request.args)),
        ...(request.multiplexed ? ["--multiplexed", shellQuote(request.multiplexed)] : []), ...timeout].join(" ");
    case "jsonrpc":
      return ["aduib", "jsonrpc", "--url", shellQuote(request.url), "--payload", shellQuote(json(request.payload)),
        ...headerFlags(request, "-H"), ...timeout].join(" ");
    case "http":
      return ["aduib", "http", "-X", request.method.toUpperCase(), shellQuote(request.url),
        ...(request.body ? ["--data", shellQuote(request.body)] : []), ...headerFlags(request, "-H"), ...timeout].join(" ");
  }
}

/** curl, for what travels over HTTP; null where curl cannot speak it. */
export function asCurl(request: Request): string | null {
  switch (request.kind) {
    case "http":
      return ["curl", "-sS", "-X", request.method.toUpperCase(), shellQuote(request.url), ...headerFlags(request, "-H"),
        ...(request.body ? ["--data-raw", shellQuote(request.body)] : [])].join(" ");
    case "jsonrpc":
      return ["curl", "-sS", shellQuote(request.url), "-H", shellQuote("Content-Type: application/json"),
        ...headerFlags(request, "-H"), "--data-raw", shellQuote(json(request.payload))].join(" ");
    case "aduib": {
      if (request.transport !== "jsonrpc" && request.transport !== "rest") return null;
      const method = request.method.startsWith("rpc.v2/") ? request.method : aduibName(request.method);
      const envelope = { aduib_rpc: "2.0", id: "1", method, data: request.data };
      const stream = request.mode === "server_stream";
      const url =
        request.transport === "jsonrpc"
          ? `${request.url}/aduib_rpc`
          : `${request.url}/aduib_rpc/v2/rpc${stream ? "/stream" : ""}`;
      const body =
        request.transport === "jsonrpc" ? { jsonrpc: "2.0", id: "1", method, params: envelope } : envelope;
      return ["curl", "-sS", ...(stream ? ["-N"] : []), shellQuote(url), "-H", shellQuote("Content-Type: application/json"),
        ...headerFlags(request, "-H"), "--data-raw", shellQuote(json(body))].join(" ");
    }
    default:
      return null;
  }
}

/** grpcurl, for gRPC methods; null otherwise. */
export function asGrpcurl(request: Request): string | null {
  if (request.kind !== "grpc") return null;
  return ["grpcurl", "-plaintext", ...headerFlags(request, "-H"), "-d", shellQuote(request.body || "{}"),
    shellQuote(request.target), shellQuote(request.method)].join(" ");
}

/** `Service.method` → `rpc.v2/Service/Service.method`, as the engine expands it. */
export function aduibName(short: string): string {
  if (short.includes("/")) return short;
  const [service, method] = short.split(".");
  return method ? `rpc.v2/${service}/${service}.${method}` : short;
}
