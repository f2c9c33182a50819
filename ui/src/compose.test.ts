import { describe, expect, it } from "vitest";
import { adoptEndpoints, DEFAULT_TARGETS, DraftError, fromRequest, newDraft, parseHeaders, toRequest } from "./compose";

describe("toRequest", () => {
  it("turns the default draft into an Aduib unary call", () => {
    const request = toRequest(newDraft());
    expect(request).toMatchObject({ kind: "aduib", transport: "jsonrpc", mode: "unary", data: { x: 1, y: 2 } });
  });

  it("refuses a body that is not JSON, saying which field", () => {
    expect(() => toRequest({ ...newDraft(), body: "{ x: 1" })).toThrow(DraftError);
    expect(() => toRequest({ ...newDraft(), body: "{ x: 1" })).toThrow(/The body is not valid JSON/);
  });

  it("refuses Aduib data that is not an object", () => {
    expect(() => toRequest({ ...newDraft(), body: "[1, 2]" })).toThrow(/must be a JSON object/);
  });

  it("refuses a deadline that is not a positive whole number", () => {
    for (const timeoutMs of ["0", "-5", "1.5", "soon"]) {
      expect(() => toRequest({ ...newDraft(), timeoutMs })).toThrow(/deadline/);
    }
    expect(toRequest({ ...newDraft(), timeoutMs: "250" }).options.timeout_ms).toBe(250);
  });

  it("opens client and bidi streams interactively, with no data up front", () => {
    const request = toRequest({ ...newDraft(), mode: "bidi", body: "" });
    expect(request).toMatchObject({ kind: "aduib", interactive: true, data: {} });
  });

  it("multiplexes a Thrift call on the service of its method", () => {
    const request = toRequest({ ...newDraft(), kind: "thrift", target: "127.0.0.1:1", method: "Calc.add", body: '{"a":1}' });
    expect(request).toMatchObject({ kind: "thrift", multiplexed: "Calc", args: { a: 1 } });
  });

  it("sends TLS settings on Aduib and gRPC calls, without empty fields, and never on Thrift", () => {
    const tls = { ca_cert: " /pki/ca.pem ", client_cert: "", client_key: "", server_name: "", insecure: false };
    const sent = toRequest({ ...newDraft(), tls });
    expect(sent).toMatchObject({ tls: { ca_cert: "/pki/ca.pem", insecure: false } });
    expect(sent).not.toHaveProperty("tls.client_cert");
    expect(toRequest({ ...newDraft(), kind: "grpc", target: "h:1", method: "S/M", body: "{}", tls })).toHaveProperty("tls.ca_cert", "/pki/ca.pem");
    expect(toRequest({ ...newDraft(), transport: "thrift", tls })).not.toHaveProperty("tls");
    expect(toRequest(newDraft())).not.toHaveProperty("tls");
  });

  it("refuses a client certificate without its key", () => {
    const tls = { client_cert: "/pki/client.pem", insecure: false };
    expect(() => toRequest({ ...newDraft(), tls })).toThrow(/needs its key/);
  });

  it("round-trips TLS through fromRequest", () => {
    const tls = { ca_cert: "/pki/ca.pem", client_cert: "/pki/c.pem", client_key: "/pki/c.key", server_name: "localhost", insecure: false };
    const request = toRequest({ ...newDraft(), tls });
    expect(toRequest(fromRequest(request))).toEqual(request);
  });

  it("reopens an interactive gRPC stream as one, not as a unary call", () => {
    const draft = { ...newDraft(), kind: "grpc" as const, target: "127.0.0.1:17103", method: "aduib.demo.v1.RichService/Chat", mode: "bidi" as const };
    const request = toRequest(draft);
    expect(request).toMatchObject({ kind: "grpc", interactive: true });
    expect(toRequest(fromRequest(request))).toEqual(request);
  });

  it("round-trips through fromRequest", () => {
    const draft = { ...newDraft(), headers: "X-Trace: 1", timeoutMs: "900" };
    const again = toRequest(fromRequest(toRequest(draft)));
    expect(again).toEqual(toRequest(draft));
  });
});

describe("parseHeaders", () => {
  it("keeps Name: value lines and skips blanks, comments and lines without a colon", () => {
    expect(parseHeaders("X-A: 1\n\n# X-B: 2\nnonsense\n: empty\nX-C:  a:b ")).toEqual([
      { name: "X-A", value: "1" },
      { name: "X-C", value: "a:b" },
    ]);
  });
});

describe("adoptEndpoints", () => {
  it("takes the server's own addresses, without a scheme for gRPC and Thrift", () => {
    const before = adoptEndpoints([
      { transport: "json-rpc", url: "http://127.0.0.1:5001" },
      { transport: "grpc", url: "http://127.0.0.1:5003" },
      { transport: "unknown", url: "x" },
    ]);
    expect(DEFAULT_TARGETS.jsonrpc).toBe("http://127.0.0.1:5001");
    expect(DEFAULT_TARGETS.grpc).toBe("127.0.0.1:5003");
    Object.assign(DEFAULT_TARGETS, before);
  });
});
