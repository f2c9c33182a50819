// The request: transport, target, method (with completion), body (JSON with
// the method's schema), headers and options. Ctrl+Enter sends, Esc cancels.
import { useEffect, useMemo, useState } from "react";
import { ListChecks, Lock, Play, Square, Wand2 } from "lucide-react";
import type { AduibTransport, CallMode, MethodInfo } from "../bindings";
import * as api from "../api";
import { DEFAULT_TARGETS, type Draft, type Kind, tlsApplies } from "../compose";
import { activeTab, useStore } from "../store";
import { JsonEditor } from "./JsonEditor";
import { MethodInput, type Suggestion } from "./MethodInput";
import { SaveBar } from "./SaveBar";

type Choice = { key: string; label: string; kind: Kind; transport?: AduibTransport };

const CHOICES: Choice[] = [
  { key: "aduib:jsonrpc", label: "Aduib · JSON-RPC", kind: "aduib", transport: "jsonrpc" },
  { key: "aduib:rest", label: "Aduib · REST", kind: "aduib", transport: "rest" },
  { key: "aduib:grpc", label: "Aduib · gRPC", kind: "aduib", transport: "grpc" },
  { key: "aduib:thrift", label: "Aduib · Thrift", kind: "aduib", transport: "thrift" },
  { key: "grpc", label: "gRPC", kind: "grpc" },
  { key: "thrift", label: "Thrift (IDL)", kind: "thrift" },
  { key: "jsonrpc", label: "JSON-RPC", kind: "jsonrpc" },
  { key: "http", label: "HTTP", kind: "http" },
];

const MODES: { value: CallMode; label: string }[] = [
  { value: "unary", label: "Unary" },
  { value: "server_stream", label: "Server stream" },
  { value: "client_stream", label: "Client stream" },
  { value: "bidi", label: "Bidi stream" },
];

function choiceOf(draft: Draft): string {
  return draft.kind === "aduib" ? `aduib:${draft.transport}` : draft.kind;
}

/** What switching to `choice` changes in a draft: a fitting target and body. */
function switchTo(choice: Choice): Partial<Draft> {
  switch (choice.kind) {
    case "aduib":
      return { kind: "aduib", transport: choice.transport, target: DEFAULT_TARGETS[choice.transport ?? "jsonrpc"] };
    case "grpc":
      return { kind: "grpc", target: DEFAULT_TARGETS.grpc, method: "", mode: "unary", body: "{}" };
    case "thrift":
      return { kind: "thrift", target: DEFAULT_TARGETS.thrift, method: "RichService.add", body: '{\n  "a": 1,\n  "b": 2\n}' };
    case "jsonrpc":
      return {
        kind: "jsonrpc",
        target: `${DEFAULT_TARGETS.jsonrpc}/aduib_rpc`,
        body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "rpc.v2/CaculService/CaculService.add", params: { method: "rpc.v2/CaculService/CaculService.add", data: { x: 1, y: 2 } } }, null, 2),
      };
    case "http":
      return { kind: "http", target: `${DEFAULT_TARGETS.rest}/aduib_rpc/v2/health`, httpMethod: "GET", body: "" };
  }
}

export function Composer({ dark, functions }: { dark: boolean; functions: string[] }) {
  // Only what the composer shows: a stream's batches change the tab's
  // exchange many times a second, and must not re-render the editors.
  const tabId = useStore((s) => activeTab(s).id);
  const draft = useStore((s) => activeTab(s).draft);
  const notice = useStore((s) => activeTab(s).notice);
  const running = useStore((s) => activeTab(s).exchange?.running ?? false);
  const methods = useStore((s) => s.methods);
  const edit = useStore((s) => s.edit);
  const send = useStore((s) => s.send);
  const cancel = useStore((s) => s.cancel);
  const setMethods = useStore((s) => s.setMethods);
  const submitTask = useStore((s) => s.submitTask);
  const [section, setSection] = useState<"body" | "headers" | "options">("body");
  const [loading, setLoading] = useState<string | null>(null);
  const [historyMethods, setHistoryMethods] = useState<string[]>([]);

  // Methods of the target: by reflection (gRPC) or from the IDL (Thrift).
  useEffect(() => {
    let stale = false;
    if (draft.kind === "grpc" && draft.target.includes(":")) {
      setLoading("Loading methods by reflection…");
      api
        .grpcMethods({ target: draft.target, schema: { protos: [], includes: [] }, headers: [], gzip: false })
        .then((m) => !stale && (setMethods(m), setLoading(null)))
        .catch((e) => !stale && (setMethods([]), setLoading(`No methods: ${api.errorText(e)}`)));
    } else if (draft.kind === "thrift") {
      api
        .thriftFunctions(draft.idl, [])
        .then((m) => !stale && (setMethods(m), setLoading(null)))
        .catch((e) => !stale && (setMethods([]), setLoading(`No functions: ${api.errorText(e)}`)));
    } else {
      setLoading(null);
    }
    return () => {
      stale = true;
    };
  }, [draft.kind, draft.target, draft.idl, setMethods]);

  useEffect(() => {
    api
      .historyQuery({ limit: 200 })
      .then((entries) => setHistoryMethods(entries.map((e) => e.method)))
      .catch(() => undefined);
  }, [tabId]);

  const method: MethodInfo | undefined = methods.find((m) => m.name === draft.method);
  const suggestions: Suggestion[] = useMemo(() => {
    if (draft.kind === "grpc" || draft.kind === "thrift") {
      return methods.map((m) => ({ name: m.name, detail: m.mode.replace("_", " ") }));
    }
    if (draft.kind === "aduib") {
      return [
        ...functions.map((f) => ({ name: f, detail: "workspace" })),
        ...historyMethods.filter((m) => !m.includes("/") || m.startsWith("rpc.v2/")).map((m) => ({ name: m, detail: "history" })),
      ];
    }
    return [];
  }, [draft.kind, methods, functions, historyMethods]);

  // A gRPC method's mode is its descriptor's: a request reopened from history
  // or a saved file takes it once the methods are known.
  useEffect(() => {
    if (draft.kind === "grpc" && method && method.mode !== draft.mode) edit({ mode: method.mode });
  }, [draft.kind, draft.mode, method, edit]);

  const pickMethod = (name: string) => {
    const info = methods.find((m) => m.name === name);
    if (info && draft.kind === "grpc") {
      edit({ method: name, mode: info.mode, body: JSON.stringify(info.template, null, 2) });
    } else if (info && draft.kind === "thrift") {
      edit({ method: name, body: JSON.stringify(info.template, null, 2) });
    } else {
      edit({ method: name });
    }
  };

  const streamsIn = draft.mode === "client_stream" || draft.mode === "bidi";

  return (
    <div className="flex h-full min-h-0 flex-col" data-testid="composer">
      <SaveBar />
      <div className="flex items-center gap-2 border-b border-zinc-200 p-3 dark:border-zinc-800">
        <select
          value={choiceOf(draft)}
          data-testid="transport"
          onChange={(e) => {
            const choice = CHOICES.find((c) => c.key === e.target.value);
            if (choice) edit(switchTo(choice));
          }}
          className="rounded-md border border-zinc-200 bg-transparent px-2 py-1.5 text-[12.5px] outline-none focus:border-indigo-400 dark:border-zinc-700 dark:bg-zinc-900"
        >
          {CHOICES.map((c) => (
            <option key={c.key} value={c.key}>{c.label}</option>
          ))}
        </select>
        {draft.kind === "http" && (
          <select
            value={draft.httpMethod}
            onChange={(e) => edit({ httpMethod: e.target.value })}
            className="rounded-md border border-zinc-200 bg-transparent px-2 py-1.5 text-[12.5px] dark:border-zinc-700 dark:bg-zinc-900"
          >
            {["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"].map((m) => <option key={m}>{m}</option>)}
          </select>
        )}
        {draft.kind === "aduib" && draft.discovery ? (
          <span className="min-w-0 flex-1 truncate px-1 text-[12.5px] text-zinc-500" data-testid="target-registry">
            {draft.discovery.service} through {draft.discovery.registry}
          </span>
        ) : (
        <input
          id="target"
          value={draft.target}
          data-testid="target"
          onChange={(e) => edit({ target: e.target.value })}
          placeholder="host:port or http://host:port"
          className="min-w-0 flex-1 rounded-md border border-zinc-200 bg-transparent px-2.5 py-1.5 font-mono text-[12.5px] outline-none focus:border-indigo-400 dark:border-zinc-700"
        />
        )}
        {running ? (
          <button onClick={cancel} data-testid="cancel" title="Cancel (Esc)" className="flex items-center gap-1.5 rounded-md bg-rose-600 px-3 py-1.5 text-[12.5px] font-medium text-white hover:bg-rose-500">
            <Square size={13} /> Cancel
          </button>
        ) : (
          <>
            {draft.kind === "aduib" && draft.mode === "unary" && !draft.discovery && (
              <button
                onClick={() => void submitTask()}
                data-testid="run-as-task"
                title="Run as a long task: the server runs it in the background; watch it in Tasks"
                aria-label="Run as task"
                className="flex items-center rounded-md border border-zinc-200 px-2 py-1.5 text-zinc-700 hover:bg-zinc-50 dark:border-zinc-700 dark:text-zinc-200 dark:hover:bg-zinc-800"
              >
                <ListChecks size={15} />
              </button>
            )}
            <button onClick={() => void send()} data-testid="send" title="Send (Ctrl+Enter)" className="flex items-center gap-1.5 rounded-md bg-indigo-600 px-3 py-1.5 text-[12.5px] font-medium text-white hover:bg-indigo-500">
              <Play size={13} /> Send
            </button>
          </>
        )}
      </div>
      {draft.kind === "aduib" && draft.discovery && <ThroughRegistry />}
      {draft.kind !== "http" && draft.kind !== "jsonrpc" && (
        <div className="flex items-center gap-2 border-b border-zinc-200 px-3 py-2 dark:border-zinc-800">
          <span className="w-14 text-xs text-zinc-500">Method</span>
          <MethodInput
            value={draft.method}
            onChange={pickMethod}
            suggestions={suggestions}
            placeholder={draft.kind === "grpc" ? "package.Service/Method" : "Service.method"}
          />
          {(draft.kind === "aduib" || draft.kind === "grpc") && (
            <select
              value={draft.mode}
              data-testid="mode"
              disabled={draft.kind === "grpc" && Boolean(method)}
              onChange={(e) => edit({ mode: e.target.value as CallMode })}
              className="rounded-md border border-zinc-200 bg-transparent px-2 py-1.5 text-[12.5px] disabled:opacity-60 dark:border-zinc-700 dark:bg-zinc-900"
            >
              {MODES.map((m) => <option key={m.value} value={m.value}>{m.label}</option>)}
            </select>
          )}
          {draft.kind === "thrift" && (
            <input
              value={draft.idl}
              onChange={(e) => edit({ idl: e.target.value })}
              title="IDL file"
              className="w-32 rounded-md border border-zinc-200 bg-transparent px-2 py-1.5 font-mono text-xs dark:border-zinc-700"
            />
          )}
        </div>
      )}
      {loading && <div className="border-b border-zinc-200 px-3 py-1 text-xs text-zinc-500 dark:border-zinc-800">{loading}</div>}
      <div className="flex items-center gap-1 border-b border-zinc-200 px-3 text-xs dark:border-zinc-800">
        {(["body", "headers", "options"] as const).map((name) => (
          <button
            key={name}
            onClick={() => setSection(name)}
            data-testid={`tab-${name}`}
            className={`border-b-2 px-2 py-1.5 capitalize ${section === name ? "border-indigo-500 text-zinc-900 dark:text-zinc-100" : "border-transparent text-zinc-500 hover:text-zinc-800 dark:hover:text-zinc-300"}`}
          >
            {name === "headers" ? (draft.kind === "grpc" ? "metadata" : "headers") : name}
            {name === "options" && draft.tls && tlsApplies(draft) && (
              <Lock size={11} className="ml-1 inline text-emerald-600 dark:text-emerald-400" aria-label="TLS on" data-testid="tls-on" />
            )}
          </button>
        ))}
        {method && (
          <button
            onClick={() => edit({ body: JSON.stringify(method.template, null, 2) })}
            className="ml-auto flex items-center gap-1 rounded px-2 py-1 text-zinc-500 hover:bg-zinc-100 dark:hover:bg-zinc-800"
          >
            <Wand2 size={12} /> Insert template
          </button>
        )}
      </div>
      {notice && (
        <div className="border-b border-amber-200 bg-amber-50 px-3 py-1.5 text-xs text-amber-900 dark:border-amber-900 dark:bg-amber-950/40 dark:text-amber-200" data-testid="composer-notice">
          {notice}
        </div>
      )}
      <div className="min-h-0 flex-1">
        {section === "body" &&
          (draft.kind === "aduib" && streamsIn ? (
            <p className="p-4 text-zinc-500">
              A {draft.mode === "bidi" ? "bidi" : "client"} stream: send it, then write each message in the box under the response and press Send message; End stream half-closes.
            </p>
          ) : (
            <JsonEditor
              key={tabId}
              value={draft.body}
              onChange={(body) => edit({ body })}
              schema={method?.input_schema}
              dark={dark}
              testId="body-editor"
              onSubmit={() => void send()}
              hint={draft.kind === "http" ? "Request body" : "{}"}
            />
          ))}
        {section === "headers" && (
          <textarea
            value={draft.headers}
            onChange={(e) => edit({ headers: e.target.value })}
            placeholder={"Authorization: Bearer ${env:TOKEN}\nX-Tenant-Id: {{tenant}}"}
            data-testid="headers-editor"
            className="h-full w-full resize-none bg-transparent p-3 font-mono text-xs outline-none"
          />
        )}
        {section === "options" && (
          <div className="space-y-3 p-4">
            <label className="flex items-center gap-3">
              <span className="w-32 text-zinc-500">Deadline (ms)</span>
              <input
                value={draft.timeoutMs}
                onChange={(e) => edit({ timeoutMs: e.target.value })}
                placeholder="none"
                className="w-32 rounded border border-zinc-200 bg-transparent px-2 py-1 dark:border-zinc-700"
              />
            </label>
            {tlsApplies(draft) && <TlsOptions />}
          </div>
        )}
      </div>
    </div>
  );
}

const TLS_FILES = [
  { key: "ca_cert", label: "CA certificate", hint: "PEM file; empty trusts the system roots" },
  { key: "client_cert", label: "Client certificate", hint: "PEM file, for mutual TLS" },
  { key: "client_key", label: "Client key", hint: "PEM file of the certificate's key" },
  { key: "server_name", label: "Server name", hint: "verify as this name instead of the host" },
] as const;

/** TLS for the call: off, or on with a CA, a client certificate, a name. */
function TlsOptions() {
  const tls = useStore((s) => activeTab(s).draft.tls);
  const edit = useStore((s) => s.edit);
  const field = "min-w-0 flex-1 rounded border border-zinc-200 bg-transparent px-2 py-1 font-mono text-xs dark:border-zinc-700";
  return (
    <fieldset className="space-y-2 border-t border-zinc-200 pt-3 dark:border-zinc-800" data-testid="tls-options">
      <label className="flex items-center gap-3">
        <span className="w-32 text-zinc-500">TLS</span>
        <input
          type="checkbox"
          checked={Boolean(tls)}
          onChange={(e) => edit({ tls: e.target.checked ? { insecure: false } : null })}
          data-testid="tls-enabled"
        />
        <span className="text-xs text-zinc-500">
          {tls ? "on: http:// is dialled as https://" : "off (https:// and grpcs:// turn it on with the system roots)"}
        </span>
      </label>
      {tls && (
        <>
          {TLS_FILES.map(({ key, label, hint }) => (
            <label key={key} className="flex items-center gap-3">
              <span className="w-32 text-zinc-500">{label}</span>
              <input
                value={tls[key] ?? ""}
                onChange={(e) => edit({ tls: { ...tls, [key]: e.target.value } })}
                placeholder={hint}
                spellCheck={false}
                data-testid={`tls-${key}`}
                className={field}
              />
            </label>
          ))}
          <label className="flex items-center gap-3">
            <span className="w-32 text-zinc-500">Skip verification</span>
            <input
              type="checkbox"
              checked={tls.insecure}
              onChange={(e) => edit({ tls: { ...tls, insecure: e.target.checked } })}
              data-testid="tls-insecure"
            />
            {tls.insecure && <span className="text-xs text-amber-600 dark:text-amber-400">any certificate is accepted: test servers only</span>}
          </label>
        </>
      )}
    </fieldset>
  );
}

const STRATEGIES = ["round_robin", "weighted_round_robin", "random", "weighted_random", "least_requests", "consistent_hash"];

/** A call through a registry: which service, how instances are picked. */
function ThroughRegistry() {
  const discovery = useStore((s) => activeTab(s).draft.discovery);
  const edit = useStore((s) => s.edit);
  if (!discovery) return null;
  const set = (patch: Partial<typeof discovery>) => edit({ discovery: { ...discovery, ...patch } });
  return (
    <div className="flex flex-wrap items-center gap-2 border-b border-indigo-100 bg-indigo-50/60 px-3 py-2 text-xs dark:border-indigo-950 dark:bg-indigo-950/30" data-testid="through-registry">
      <span className="font-medium text-indigo-800 dark:text-indigo-200">Through the registry</span>
      <span className="font-mono">{discovery.service}</span>
      <span className="text-zinc-500">@ {discovery.registry}</span>
      {discovery.instance ? (
        <span className="rounded bg-white px-1.5 py-0.5 font-mono dark:bg-zinc-900">only {discovery.instance}</span>
      ) : (
        <select
          value={discovery.strategy}
          onChange={(e) => set({ strategy: e.target.value })}
          data-testid="lb-strategy"
          className="rounded border border-indigo-200 bg-white px-1.5 py-0.5 dark:border-indigo-900 dark:bg-zinc-900"
        >
          {STRATEGIES.map((s) => (
            <option key={s} value={s}>
              {s.replaceAll("_", " ")}
            </option>
          ))}
        </select>
      )}
      <label className="flex items-center gap-1">
        <input type="checkbox" checked={discovery.idempotent} onChange={(e) => set({ idempotent: e.target.checked })} className="accent-indigo-600" />
        idempotent (may be retried)
      </label>
      <button onClick={() => edit({ discovery: null })} className="ml-auto rounded px-1.5 py-0.5 text-zinc-500 hover:bg-white hover:text-zinc-800 dark:hover:bg-zinc-900" title="Call the URL above instead">
        Use the URL instead
      </button>
    </div>
  );
}
