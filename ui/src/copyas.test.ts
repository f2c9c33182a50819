import { describe, expect, it } from "vitest";
import type { Request } from "./bindings";
import { aduibName, asAduib, asCurl, asGrpcurl, shellQuote } from "./copyas";

const options = { headers: [{ name: "X-Trace", value: "it's" }] };

describe("shellQuote", () => {
  it("leaves plain words alone and quotes the rest, quotes included", () => {
    expect(shellQuote("http://h:1/a")).toBe("http://h:1/a");
    expect(shellQuote("a b")).toBe("'a b'");
    expect(shellQuote("it's")).toBe(`'it'\\''s'`);
  });
});

describe("copy as", () => {
  const aduib: Request = {
    kind: "aduib", transport: "rest", url: "http://127.0.0.1:1", method: "CaculService.add", mode: "unary",
    data: { x: 1 }, interactive: false, options,
  };

  it("writes the aduib command the CLI accepts", () => {
    expect(asAduib(aduib)).toBe(
      `aduib call --transport rest --url http://127.0.0.1:1 --method CaculService.add --data '{"x":1}' -H 'X-Trace: it'\\''s'`,
    );
  });

  it("writes curl for REST with the envelope the server expects", () => {
    const curl = asCurl(aduib);
    expect(curl).toContain("http://127.0.0.1:1/aduib_rpc/v2/rpc");
    expect(curl).toContain(`"method":"rpc.v2/CaculService/CaculService.add"`);
  });

  it("has no curl for gRPC and no grpcurl for anything else", () => {
    expect(asCurl({ ...aduib, transport: "grpc" })).toBeNull();
    expect(asGrpcurl(aduib)).toBeNull();
  });

  it("writes grpcurl for a gRPC method", () => {
    const grpc: Request = {
      kind: "grpc", target: "127.0.0.1:2", method: "pkg.Svc/Do", body: '{"a": 1}',
      schema: { protos: [], includes: [] }, gzip: false, interactive: false, options: { headers: [] },
    };
    expect(asGrpcurl(grpc)).toBe(`grpcurl -plaintext -d '{"a": 1}' 127.0.0.1:2 pkg.Svc/Do`);
  });

  it("expands short Aduib names as the engine does", () => {
    expect(aduibName("S.m")).toBe("rpc.v2/S/S.m");
    expect(aduibName("rpc.v2/S/S.m")).toBe("rpc.v2/S/S.m");
  });
});
