// Every call into the engine goes through here: typed by the generated
// bindings, never an ad-hoc `invoke` string in a component.
import { Channel, invoke } from "@tauri-apps/api/core";
import type {
  Detail,
  FanoutReport,
  InstanceView,
  InstancesUpdate,
  NamespaceView,
  RegistryTarget,
  ServicesView,
  Entry,
  Event,
  GrpcTarget,
  HostCall,
  HostStatus,
  MethodInfo,
  Query,
  Request,
  SavedRequest,
  TrackedTask,
  WorkbenchError,
  WorkspaceSummary,
} from "./bindings";

export type AppInfo = {
  version: string;
  workspace_dir: string;
  history_path: string | null;
  settings_path: string;
  schema_dirs: string[];
};

/**
 * Starts a request, its `{{variables}}` taken from `environment`; `onEvents`
 * gets its events in batches. Returns the exchange id.
 */
export function send(request: Request, environment: string | null, onEvents: (events: Event[]) => void): Promise<string> {
  const events = new Channel<Event[]>();
  events.onmessage = onEvents;
  return invoke<string>("send", { request, environment, events });
}

export const cancel = (id: string) => invoke<void>("cancel", { id });
/** The whole body of a message the window holds a preview of; null once it is no longer kept. */
export const exchangeMessage = (id: string, seq: number) => invoke<unknown>("exchange_message", { id, seq });
export const sendMessage = (id: string, data: unknown) => invoke<void>("send_message", { id, data });
export const endStream = (id: string) => invoke<void>("end_stream", { id });
export const historyQuery = (query: Query) => invoke<Entry[]>("history_query", { query });
export const historyGet = (id: string) => invoke<Detail | null>("history_get", { id });
export const serverStart = () => invoke<HostStatus>("server_start");
export const serverStop = () => invoke<HostStatus>("server_stop");
export const grpcMethods = (target: GrpcTarget) => invoke<MethodInfo[]>("grpc_methods", { target });
export const thriftFunctions = (idl: string, includes: string[]) =>
  invoke<MethodInfo[]>("thrift_functions", { idl, includes });
export const workspaceSummary = () => invoke<WorkspaceSummary>("workspace_summary");
export const workspaceOpen = (dir: string) => invoke<WorkspaceSummary>("workspace_open", { dir });
export const requestSave = (id: string | null, name: string, request: Request) =>
  invoke<SavedRequest>("request_save", { id, name, request });
export const requestDelete = (id: string) => invoke<void>("request_delete", { id });
export const appInfo = () => invoke<AppInfo>("app_info");

/** Calls `onStatus` with the embedded server's status now and on each change. */
export function serverWatch(onStatus: (status: HostStatus) => void): Promise<void> {
  const status = new Channel<HostStatus>();
  status.onmessage = onStatus;
  return invoke<void>("server_watch", { status });
}

export function serverLog(onCalls: (calls: HostCall[]) => void): Promise<void> {
  const calls = new Channel<HostCall[]>();
  calls.onmessage = onCalls;
  return invoke<void>("server_log", { calls });
}

export const taskSubmit = (request: Request, environment: string | null, priority: number | null = null) =>
  invoke<TrackedTask>("task_submit", { request, environment, priority });
export const taskResubmit = (taskId: string) => invoke<TrackedTask>("task_resubmit", { taskId });
export const taskCancel = (taskId: string) => invoke<TrackedTask>("task_cancel", { taskId });
export const tasksList = (limit: number) => invoke<TrackedTask[]>("tasks_list", { limit });
export const taskGet = (taskId: string) => invoke<TrackedTask>("task_get", { taskId });
export const taskSeen = (taskId: string) => invoke<void>("task_seen", { taskId });

export const registrySaved = () => invoke<RegistryTarget | null>("registry_saved");
export const registryNamespaces = (target: RegistryTarget) => invoke<NamespaceView[]>("registry_namespaces", { target });
export const registryGroups = (target: RegistryTarget) => invoke<string[]>("registry_groups", { target });
export const registryServices = (target: RegistryTarget, page: number, pageSize: number, filter: string | null) =>
  invoke<ServicesView>("registry_services", { target, page, pageSize, filter });
export const registryInstances = (target: RegistryTarget, service: string) =>
  invoke<InstanceView[]>("registry_instances", { target, service });
/** `service`'s instances now, then on each change, until `registryUnwatch(id)`. */
export function registryWatch(target: RegistryTarget, service: string, onUpdate: (update: InstancesUpdate) => void): Promise<number> {
  const updates = new Channel<InstancesUpdate>();
  updates.onmessage = onUpdate;
  return invoke<number>("registry_watch", { target, service, updates });
}
export const registryUnwatch = (id: number) => invoke<void>("registry_unwatch", { id });
export const fanout = (request: Request, environment: string | null) => invoke<FanoutReport>("fanout", { request, environment });

/** Every change of every tracked task, from now on, in batches. */
export function taskUpdates(onTasks: (tasks: TrackedTask[]) => void): Promise<void> {
  const updates = new Channel<TrackedTask[]>();
  updates.onmessage = onTasks;
  return invoke<void>("task_updates", { updates });
}

/** A rejected command's error as one sentence, whatever was thrown. */
export function errorText(error: unknown): string {
  if (typeof error === "string") return error;
  const e = error as Partial<WorkbenchError> | null;
  if (e && typeof e.message === "string") {
    return [e.message, ...(e.causes ?? [])].join(": ");
  }
  return String(error);
}
