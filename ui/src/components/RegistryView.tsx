// The registry (Nacos): namespaces, services, the instances of one, live;
// call one instance or the service through the balancer from the Composer,
// or fan a call out to every instance and compare the answers.
import { useCallback, useEffect, useMemo, useRef, useState } from "react";
import { Network, Play, RefreshCw, Shuffle, Split } from "lucide-react";
import type { AduibTransport, FanoutReport, InstanceView, NamespaceView, RegistryTarget } from "../bindings";
import * as api from "../api";
import { newDraft } from "../compose";
import { diffRows, pretty } from "../diff";
import { fanoutFailed } from "../fanout";
import { ms } from "../format";
import { useStore } from "../store";
import { DiffRows } from "./DiffRows";

const PAGE = 100;
/** The metadata shown at a glance; the rest is in the row's tooltip. */
const SHOWN_METADATA = ["protocol", "scheme", "service_name", "version"];
// Answer groups are told apart by letter; the dot says whether the instance
// answered (emerald) or failed (rose), never which group it is in.
const GROUP_LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ";


function transportOf(t: string | undefined): AduibTransport {
  return t === "rest" || t === "grpc" || t === "thrift" ? t : "jsonrpc";
}

export function RegistryView() {
  const [target, setTarget] = useState<RegistryTarget>({ address: "" });
  const [draftAddress, setDraftAddress] = useState("");
  const [namespaces, setNamespaces] = useState<NamespaceView[] | null>(null);
  /** Groups holding services in the namespace; null until known (then typed). */
  const [groups, setGroups] = useState<string[] | null>(null);
  const [services, setServices] = useState<{ total: number; services: string[] } | null>(null);
  const [filter, setFilter] = useState("");
  const [page, setPage] = useState(1);
  const service = useStore((s) => s.registryService);
  const setService = useStore((s) => s.setRegistryService);
  const [instances, setInstances] = useState<InstanceView[] | null>(null);
  /** Why the shown instances may be out of date (the registry went away). */
  const [stale, setStale] = useState<string | null>(null);
  const [problem, setProblem] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  // The workspace's saved registry, if any.
  useEffect(() => {
    void api
      .registrySaved()
      .then((saved) => {
        if (saved) {
          setDraftAddress(saved.address);
          setTarget(saved);
          void connect(saved);
        }
      })
      .catch(() => undefined);
    // Once, on opening: `connect` is recreated every render.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, []);

  // Connects may overlap (the saved registry's on opening, a click, a group
  // picked): only the latest one's answers are shown.
  const latestConnect = useRef(0);
  const connect = async (next: RegistryTarget) => {
    const attempt = ++latestConnect.current;
    setBusy(true);
    setProblem(null);
    try {
      const found = await api.registryNamespaces(next);
      // A registry without the console's catalog still works: the group is typed.
      const foundGroups = await api.registryGroups(next).catch(() => null);
      if (attempt !== latestConnect.current) return;
      setNamespaces(found);
      setGroups(foundGroups);
      // Another registry, namespace or group: another set of services.
      if (next.address !== target.address || next.namespace !== target.namespace || next.group !== target.group) {
        if (target.address) setService(null);
        // The instances follow the target: the watch below starts over.
        setPage(1);
      }
      setTarget(next);
    } catch (e) {
      if (attempt !== latestConnect.current) return;
      setNamespaces(null);
      setServices(null);
      setProblem(api.errorText(e));
    } finally {
      if (attempt === latestConnect.current) setBusy(false);
    }
  };

  // Services of the namespace and group, a page at a time.
  useEffect(() => {
    if (!namespaces || !target.address) return;
    let stale = false;
    api
      .registryServices(target, page, PAGE, filter || null)
      .then((found) => !stale && setServices(found))
      .catch((e) => !stale && setProblem(api.errorText(e)));
    return () => {
      stale = true;
    };
  }, [namespaces, target, page, filter]);

  const loadInstances = useCallback(() => {
    if (!service) return;
    api
      .registryInstances(target, service)
      .then((found) => {
        setInstances(found);
        setStale(null);
      })
      .catch((e) => setProblem(api.errorText(e)));
  }, [target, service]);

  // Live: Nacos pushes each change (instances come and go, weights and
  // health change); the engine polls a registry that cannot push.
  useEffect(() => {
    if (!service || !target.address) return;
    let live = true;
    setInstances(null);
    setStale(null);
    const watch = api.registryWatch(target, service, (update) => {
      if (!live) return;
      if (update.error) {
        setStale(api.errorText(update.error));
      } else {
        setInstances(update.instances);
        setStale(null);
      }
    });
    watch.catch((e) => live && setProblem(api.errorText(e)));
    return () => {
      live = false;
      // Its own id: calls to the app may arrive out of order.
      void watch.then((id) => api.registryUnwatch(id)).catch(() => undefined);
    };
  }, [service, target]);

  return (
    <div className="flex h-full min-h-0 flex-col" data-testid="registry">
      <div className="flex flex-wrap items-center gap-2 border-b border-zinc-200 px-4 py-3 dark:border-zinc-800">
        <Network size={18} className="text-zinc-400" />
        <span className="font-semibold">Registry</span>
        <input
          value={draftAddress}
          onChange={(e) => setDraftAddress(e.target.value)}
          onKeyDown={(e) => e.key === "Enter" && void connect({ ...target, address: draftAddress })}
          placeholder="Nacos: 127.0.0.1:8848 or nacos://host:port?namespace=dev"
          data-testid="registry-address"
          className="ml-2 min-w-0 flex-1 rounded-md border border-zinc-200 bg-transparent px-2.5 py-1.5 font-mono text-[12.5px] outline-none focus:border-indigo-400 dark:border-zinc-700"
        />
        {namespaces && (
          <select
            value={target.namespace ?? ""}
            onChange={(e) => void connect({ ...target, namespace: e.target.value || undefined })}
            data-testid="registry-namespace"
            className="rounded-md border border-zinc-200 bg-transparent px-2 py-1.5 text-[12.5px] dark:border-zinc-700 dark:bg-zinc-900"
          >
            {namespaces.map((n) => (
              <option key={n.id} value={n.id}>
                {n.name}
              </option>
            ))}
          </select>
        )}
        <input
          value={target.username ?? ""}
          onChange={(e) => setTarget({ ...target, username: e.target.value || undefined })}
          placeholder="user"
          title="Nacos user (when its auth is on), or ${env:NAME}"
          className="w-24 rounded-md border border-zinc-200 bg-transparent px-2 py-1.5 text-[12.5px] dark:border-zinc-700"
        />
        <input
          value={target.password ?? ""}
          onChange={(e) => setTarget({ ...target, password: e.target.value || undefined })}
          placeholder="${env:NACOS_PASSWORD}"
          title="The password as a reference to an environment variable: it is saved in the workspace"
          data-testid="registry-password"
          className="w-44 rounded-md border border-zinc-200 bg-transparent px-2 py-1.5 font-mono text-[12px] dark:border-zinc-700"
        />
        {groups ? (
          <select
            value={target.group ?? "DEFAULT_GROUP"}
            onChange={(e) => void connect({ ...target, group: e.target.value === "DEFAULT_GROUP" ? undefined : e.target.value })}
            title="Group"
            data-testid="registry-group"
            className="max-w-40 rounded-md border border-zinc-200 bg-transparent px-2 py-1.5 text-[12.5px] dark:border-zinc-700 dark:bg-zinc-900"
          >
            {[...new Set([...groups, target.group ?? "DEFAULT_GROUP"])].map((g) => (
              <option key={g} value={g}>
                {g}
              </option>
            ))}
          </select>
        ) : (
          <input
            value={target.group ?? ""}
            onChange={(e) => setTarget({ ...target, group: e.target.value || undefined })}
            onBlur={() => namespaces && void connect(target)}
            placeholder="DEFAULT_GROUP"
            title="Group"
            className="w-36 rounded-md border border-zinc-200 bg-transparent px-2 py-1.5 text-[12.5px] dark:border-zinc-700"
          />
        )}
        <button
          onClick={() => void connect({ ...target, address: draftAddress })}
          disabled={busy || !draftAddress.trim()}
          data-testid="registry-connect"
          className="rounded-md bg-indigo-600 px-3 py-1.5 text-[12.5px] font-medium text-white hover:bg-indigo-500 disabled:opacity-50"
        >
          {busy ? "Connecting…" : namespaces ? "Reconnect" : "Connect"}
        </button>
      </div>
      {problem && (
        <p className="border-b border-rose-200 bg-rose-50 px-4 py-2 text-xs text-rose-800 dark:border-rose-900 dark:bg-rose-950/40 dark:text-rose-200" data-testid="registry-problem">
          {problem}
        </p>
      )}
      {!namespaces ? (
        <div className="flex flex-1 items-center justify-center p-8 text-center text-zinc-500">
          <div className="max-w-sm space-y-2 text-xs">
            <p className="text-sm font-medium text-zinc-700 dark:text-zinc-300">Browse a Nacos registry</p>
            <p>Give its address and connect: namespaces, services and their instances show here, and any of them can be called — one instance, or the service through a load balancer.</p>
            <p>The connection is saved in the workspace (<span className="font-mono">registry.toml</span>); credentials come from <span className="font-mono">$ADUIB_NACOS_USER</span> and <span className="font-mono">$ADUIB_NACOS_PASSWORD</span>.</p>
          </div>
        </div>
      ) : (
        <div className="flex min-h-0 flex-1">
          <div className="flex w-72 shrink-0 flex-col border-r border-zinc-200 dark:border-zinc-800">
            <input
              value={filter}
              onChange={(e) => {
                setFilter(e.target.value);
                setPage(1);
              }}
              placeholder="Filter services"
              className="m-2 rounded-md border border-zinc-200 bg-transparent px-2 py-1 text-xs outline-none focus:border-indigo-400 dark:border-zinc-700"
            />
            <ul className="min-h-0 flex-1 overflow-auto px-2" data-testid="registry-services">
              {services?.services.map((name) => (
                <li
                  key={name}
                  onClick={() => setService(name)}
                  data-testid="registry-service"
                  className={`cursor-default truncate rounded-md px-2.5 py-1.5 font-mono text-xs ${name === service ? "bg-indigo-50 font-medium text-indigo-800 dark:bg-indigo-950/50 dark:text-indigo-200" : "hover:bg-zinc-100 dark:hover:bg-zinc-800/60"}`}
                >
                  {name}
                </li>
              ))}
              {services && services.services.length === 0 && <li className="px-2.5 py-1.5 text-xs text-zinc-400">No services here.</li>}
            </ul>
            {services && (
              <div className="flex items-center gap-2 border-t border-zinc-200 px-3 py-1.5 text-[11px] text-zinc-500 dark:border-zinc-800">
                <span>
                  {services.total === 0 ? 0 : (page - 1) * PAGE + 1}–{(page - 1) * PAGE + services.services.length} of {services.total}
                </span>
                <button disabled={page <= 1} onClick={() => setPage(page - 1)} className="ml-auto rounded px-1 disabled:opacity-30">
                  ‹
                </button>
                <button disabled={page * PAGE >= services.total} onClick={() => setPage(page + 1)} className="rounded px-1 disabled:opacity-30">
                  ›
                </button>
              </div>
            )}
          </div>
          <div className="min-w-0 flex-1 overflow-auto">
            {service ? (
              <ServicePanel key={service} target={target} service={service} instances={instances} stale={stale} onRefresh={loadInstances} />
            ) : (
              <p className="p-6 text-xs text-zinc-400">Pick a service to see its instances.</p>
            )}
          </div>
        </div>
      )}
    </div>
  );
}

function ServicePanel({
  target,
  service,
  instances,
  stale,
  onRefresh,
}: {
  target: RegistryTarget;
  service: string;
  instances: InstanceView[] | null;
  stale: string | null;
  onRefresh: () => void;
}) {
  const { newTab, environment } = useStore();
  const [method, setMethod] = useState(`${service}.add`);
  const [data, setData] = useState('{"x": 1, "y": 2}');
  const [report, setReport] = useState<FanoutReport | null>(null);
  const [problem, setProblem] = useState<string | null>(null);
  const [running, setRunning] = useState(false);
  const transports = useMemo(() => [...new Set((instances ?? []).map((i) => i.transport).filter(Boolean))] as string[], [instances]);

  const callInstance = (instance: InstanceView) => {
    const transport = transportOf(instance.transport);
    newTab({ ...newDraft(), kind: "aduib", transport, target: instance.url ?? instance.address, method, body: data, discovery: null });
  };

  const callBalanced = () => {
    const transport = transportOf(transports[0]);
    newTab({
      ...newDraft(),
      kind: "aduib",
      transport,
      target: target.address,
      method,
      body: data,
      discovery: {
        registry: target.address,
        namespace: target.namespace,
        group: target.group,
        service,
        strategy: "weighted_round_robin",
        any_transport: false,
        idempotent: false,
        retries: 2,
      },
    });
  };

  const runFanout = async () => {
    setRunning(true);
    setProblem(null);
    try {
      const parsed = JSON.parse(data) as Record<string, unknown>;
      const request = {
        kind: "aduib" as const,
        transport: transportOf(transports[0]),
        url: "",
        method,
        mode: "unary" as const,
        data: parsed,
        interactive: false,
        options: { headers: [] },
        discovery: {
          registry: target.address,
          namespace: target.namespace,
          group: target.group,
          service,
          strategy: "round_robin",
          any_transport: true,
          idempotent: false,
          retries: 0,
        },
      };
      setReport(await api.fanout(request, environment));
    } catch (e) {
      setReport(null);
      setProblem(e instanceof SyntaxError ? `The data is not valid JSON: ${e.message}` : api.errorText(e));
    } finally {
      setRunning(false);
    }
  };

  return (
    <div className="p-4" data-testid="registry-service-panel">
      <div className="mb-3 flex items-center gap-2">
        <h2 className="font-mono text-sm font-semibold">{service}</h2>
        <span className="text-xs text-zinc-500">{instances ? `${instances.length} instance${instances.length === 1 ? "" : "s"}` : "…"}</span>
        {stale ? (
          <span className="truncate text-xs text-amber-700 dark:text-amber-400" title={stale} data-testid="registry-stale">
            stale — {stale}
          </span>
        ) : (
          instances && (
            <span className="flex items-center gap-1 text-xs text-emerald-700 dark:text-emerald-400" title="Changes show as the registry reports them" data-testid="registry-live">
              <span className="h-1.5 w-1.5 rounded-full bg-emerald-500" /> live
            </span>
          )
        )}
        <button onClick={onRefresh} title="Ask again now" className="ml-auto rounded p-1 text-zinc-400 hover:bg-zinc-100 dark:hover:bg-zinc-800">
          <RefreshCw size={13} />
        </button>
      </div>
      <table className="w-full text-xs" data-testid="registry-instances">
        <thead className="text-left text-[11px] uppercase tracking-wide text-zinc-400 [&_th]:px-2 [&_th]:py-1 [&_th]:font-medium">
          <tr>
            <th>Address</th>
            <th>Transport</th>
            <th className="text-right">Weight</th>
            <th>Health</th>
            <th>Cluster</th>
            <th>Metadata</th>
            <th />
          </tr>
        </thead>
        <tbody>
          {instances?.map((i) => (
            <tr key={i.address} className="border-t border-zinc-100 align-top dark:border-zinc-800 [&_td]:whitespace-nowrap [&_td]:px-2 [&_td]:py-1.5" data-testid="registry-instance">
              <td className="font-mono">{i.address}</td>
              <td>{i.transport ?? <span className="text-zinc-400">not Aduib</span>}</td>
              <td className="text-right tabular-nums">{i.weight}</td>
              <td>
                <span className={`mr-1 inline-block h-2 w-2 rounded-full ${!i.enabled ? "bg-zinc-400" : i.healthy ? "bg-emerald-500" : "bg-rose-500"}`} />
                {!i.enabled ? "disabled" : i.healthy ? "healthy" : "unhealthy"}
              </td>
              <td>{i.cluster}</td>
              <td className="w-full" title={Object.entries(i.metadata).map(([k, v]) => `${k}=${v}`).join("\n")}>
                <div className="flex flex-wrap gap-1">
                  {Object.entries(i.metadata)
                    .filter(([k]) => SHOWN_METADATA.includes(k))
                    .map(([k, v]) => (
                      <span key={k} className="rounded bg-zinc-100 px-1 font-mono text-[10.5px] dark:bg-zinc-800">
                        {k}={v.length > 18 ? `${v.slice(0, 18)}…` : v}
                      </span>
                    ))}
                  {Object.keys(i.metadata).filter((k) => !SHOWN_METADATA.includes(k)).length > 0 && (
                    <span className="px-1 text-[10.5px] text-zinc-400">+{Object.keys(i.metadata).filter((k) => !SHOWN_METADATA.includes(k)).length} more</span>
                  )}
                </div>
              </td>
              <td className="text-right">
                {i.url && (
                  <button onClick={() => callInstance(i)} data-testid="registry-call-instance" className="inline-flex items-center gap-1 rounded-md border border-zinc-200 px-2 py-0.5 hover:bg-zinc-50 dark:border-zinc-700 dark:hover:bg-zinc-800">
                    <Play size={11} /> Call
                  </button>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {instances && instances.length === 0 && <p className="py-3 text-xs text-zinc-400">No instances: nothing is registered under this name now.</p>}

      <div className="mt-5 rounded-lg border border-zinc-200 p-3 dark:border-zinc-800">
        <div className="flex flex-wrap items-center gap-2">
          <input value={method} onChange={(e) => setMethod(e.target.value)} data-testid="registry-method" className="w-56 rounded-md border border-zinc-200 bg-transparent px-2 py-1 font-mono text-xs dark:border-zinc-700" />
          <input value={data} onChange={(e) => setData(e.target.value)} data-testid="registry-data" className="min-w-0 flex-1 rounded-md border border-zinc-200 bg-transparent px-2 py-1 font-mono text-xs dark:border-zinc-700" />
          <button onClick={callBalanced} data-testid="registry-call-balanced" className="inline-flex items-center gap-1 rounded-md bg-indigo-600 px-2.5 py-1 text-xs font-medium text-white hover:bg-indigo-500">
            <Shuffle size={12} /> Call through the balancer
          </button>
          <button onClick={() => void runFanout()} disabled={running} data-testid="registry-fanout" className="inline-flex items-center gap-1 rounded-md border border-zinc-200 px-2.5 py-1 text-xs font-medium hover:bg-zinc-50 disabled:opacity-50 dark:border-zinc-700 dark:hover:bg-zinc-800">
            <Split size={12} /> {running ? "Calling every instance…" : "Fan out"}
          </button>
        </div>
        {problem && <p className="mt-2 text-xs text-rose-700 dark:text-rose-300">{problem}</p>}
        {report && (
          <div className="mt-3" data-testid="fanout-report">
            <p className="mb-2 text-xs font-medium" data-testid="fanout-summary">
              {report.results.length === 1 ? "1 instance" : `${report.results.length} instances`} ·{" "}
              {report.distinct === 1 ? (report.results.length === 1 ? "answered" : "all answered alike") : `${report.distinct} different answers`}
            </p>
            {report.distinct > 1 && <FanoutDiff report={report} />}
            <div className="grid gap-2" style={{ gridTemplateColumns: `repeat(${Math.min(report.results.length, 3)}, minmax(0, 1fr))` }}>
              {report.results.map((r) => (
                <div key={r.instance} className="rounded-md border border-zinc-200 p-2 dark:border-zinc-800" data-testid="fanout-result">
                  <div className="mb-1 flex items-center gap-1.5 text-[11px]">
                    <span
                      className={`h-2 w-2 rounded-full ${fanoutFailed(r) ? "bg-rose-500" : "bg-emerald-500"}`}
                      title={fanoutFailed(r) ? "failed" : "answered"}
                      data-testid="fanout-dot"
                    />
                    <span className="font-mono">{r.instance}</span>
                    <span className="text-zinc-400">{r.transport}</span>
                    {report.distinct > 1 && (
                      <span className="rounded bg-zinc-100 px-1 font-medium text-zinc-600 dark:bg-zinc-800 dark:text-zinc-300" title="instances with the same letter answered alike">
                        answer {GROUP_LETTERS[r.group % GROUP_LETTERS.length]}
                      </span>
                    )}
                    <span className="ml-auto tabular-nums text-zinc-500">{ms(r.latency_ms)}</span>
                  </div>
                  <pre className={`max-h-40 overflow-auto whitespace-pre-wrap break-all font-mono text-[11px] ${fanoutFailed(r) ? "text-rose-700 dark:text-rose-300" : "text-zinc-700 dark:text-zinc-300"}`}>
                    {r.error ? `error: ${r.error.message}` : JSON.stringify((r.response as { result?: unknown; error?: unknown } | null)?.result ?? (r.response as { error?: unknown } | null)?.error ?? null, null, 1)}
                  </pre>
                </div>
              ))}
            </div>
          </div>
        )}
      </div>
    </div>
  );
}

/** What one instance answered, as compared: its result, or its error. */
function answerOf(result: FanoutReport["results"][number]): unknown {
  if (result.error) return { error: result.error.message };
  const response = result.response as { status?: unknown; result?: unknown; error?: unknown } | null;
  return { status: response?.status, result: response?.result, error: response?.error };
}

/** Two differing answers side by side; any two instances can be picked. */
function FanoutDiff({ report }: { report: FanoutReport }) {
  const first = report.results[0]?.instance ?? "";
  const other = report.results.find((r) => r.group !== report.results[0]?.group)?.instance ?? first;
  const [left, setLeft] = useState(first);
  const [right, setRight] = useState(other);
  const rows = useMemo(() => {
    const find = (instance: string) => report.results.find((r) => r.instance === instance);
    const a = find(left);
    const b = find(right);
    return a && b ? diffRows(pretty(answerOf(a)), pretty(answerOf(b))) : [];
  }, [report, left, right]);
  const pick = (value: string, set: (v: string) => void) => (
    <select value={value} onChange={(e) => set(e.target.value)} className="rounded border border-zinc-200 bg-transparent px-1.5 py-0.5 font-mono text-[11px] dark:border-zinc-700 dark:bg-zinc-900">
      {report.results.map((r) => (
        <option key={r.instance} value={r.instance}>
          {r.instance}
        </option>
      ))}
    </select>
  );
  return (
    <div className="mb-3 rounded-md border border-amber-200 dark:border-amber-900" data-testid="fanout-diff">
      <div className="grid grid-cols-2 border-b border-amber-200 px-1 py-1 dark:border-amber-900">
        <div className="px-2">{pick(left, setLeft)}</div>
        <div className="px-2">{pick(right, setRight)}</div>
      </div>
      <DiffRows rows={rows} className="max-h-64 overflow-auto py-1" />
    </div>
  );
}
