// The bodies of gocore-dap's custom DAP requests (docs/custom-requests.md, schema
// adapter/gocore_dap/protocol/go-extensions.json). Pure types: no vscode import.

export interface GoLocation {
  function: string;
  file: string;
  line: number;
}

export interface GoGoroutine {
  id: number;
  state: string;
  waitReason?: string;
  waitMinutes?: number;
  /** The innermost frame of the program's own code (function, file and line of that one frame). */
  userLocation: GoLocation;
  /** The library function userLocation waits in, as the runtime prints it (`sync.(*Mutex).Lock`). */
  waitingIn?: string;
  currentLocation: GoLocation;
  creationLocation?: GoLocation;
  parentId?: number;
  startFunction: string;
  labels: Record<string, string>;
  threadId?: number;
  crashed: boolean;
  system: boolean;
}

export interface GoGoroutineGroup {
  key: string;
  label: string;
  count: number;
  states: Record<string, number>;
  /** Present when `states` and `memberIds` come from a sample of this many members. */
  statesSampled?: number;
  representative?: GoGoroutine;
  stack: GoLocation[];
  memberIds: number[];
  containsCrashing: boolean;
}

export type GroupBy =
  | "none"
  | "stack"
  | "location"
  | "waitReason"
  | "waitObject"
  | "creator"
  | "startFunction"
  | `label:${string}`;

export interface GoroutineFilter {
  states?: string[];
  function?: string;
  label?: string;
  creator?: string;
  userOnly?: boolean;
  text?: string;
}

export interface GoroutinesArguments {
  start?: number;
  count?: number;
  groupBy?: GroupBy;
  group?: string;
  memberCount?: number;
  filter?: GoroutineFilter;
}

export interface GoroutinesResponseBody {
  total: number;
  totalUnfiltered: number;
  crashing: GoGoroutine | null;
  goroutines?: GoGoroutine[];
  groups?: GoGoroutineGroup[];
  totalGroups?: number;
  approximate?: boolean;
  /** Present when the goroutines were listed through Delve rather than read from the core, and why. */
  note?: string;
}

export type CrashKind = "panic" | "fatal error" | "signal" | "unknown";

export interface CrashSignal {
  name: string;
  number: number;
  code?: number | string;
  addr?: number | string;
  pc?: number | string;
}

export interface PanicChainEntry {
  value: string;
  recovered: boolean;
  goexit: boolean;
}

/** Where the editor opens for a crash (crashSummary `landing`). */
export interface GoLanding {
  goroutineId: number;
  location: GoLocation;
  /** Picked among the asleep goroutines: no goroutine crashed (a deadlock, an external signal). */
  asleep: boolean;
}

export interface CrashSummaryBody {
  kind: CrashKind;
  headline: string;
  message: string;
  signal?: CrashSignal | null;
  crashingGoroutineId?: number | null;
  crashingThreadId?: number | null;
  panicChain?: PanicChainEntry[];
  goVersion?: string;
  goroutineCount?: number;
  build?: {
    mainModule?: { path?: string; version?: string };
    vcsRevision?: string;
    vcsTime?: string;
    vcsModified?: boolean;
    trimpath?: boolean;
    goos?: string;
    goarch?: string;
    cgo?: boolean;
    settings?: Record<string, string>;
  };
  program?: string;
  core?: string;
  /** The Delve release that read the core (picked for the program's Go version), or `dlv at PATH`. */
  delve?: string;
  /** Where a stripped program's DWARF came from. */
  debugInfo?: string;
  /** What to know before trusting what is shown (a truncated core, a Delve release short of the Go version). */
  warnings?: string[];
  landing?: GoLanding;
  /** No goroutine crashed: the user goroutines with a frame of the program's own code, most telling first. */
  asleepOrder?: number[];
}

/** The launch configuration of a `go-core` session (what the adapter accepts). */
export interface SubstitutePathRule {
  from: string;
  to: string;
}

export interface GoCoreLaunchConfig {
  type?: string;
  request?: string;
  name?: string;
  program?: string;
  coreFilePath?: string;
  dlvPath?: string;
  substitutePath?: SubstitutePathRule[];
  stackTraceDepth?: number;
  hideSystemGoroutines?: boolean;
  showRegisters?: boolean;
  maxThreads?: number;
  dlvTimeout?: number;
  yourCode?: "mainModule" | "modules" | "nonRuntime";
  [key: string]: unknown;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function isLocation(value: unknown): value is GoLocation {
  return isObject(value) && typeof value.function === "string" && typeof value.file === "string" && typeof value.line === "number";
}

/** A light shape check of the `goroutines` response: enough to refuse an adapter that does not implement it. */
export function asGoroutinesBody(value: unknown): GoroutinesResponseBody {
  if (!isObject(value) || typeof value.total !== "number") {
    throw new Error("the adapter's goroutines response has no 'total'");
  }
  const goroutines = value.goroutines;
  const groups = value.groups;
  if (goroutines !== undefined && !Array.isArray(goroutines)) {
    throw new Error("the adapter's goroutines response has a 'goroutines' that is not a list");
  }
  if (groups !== undefined && !Array.isArray(groups)) {
    throw new Error("the adapter's goroutines response has a 'groups' that is not a list");
  }
  for (const g of (goroutines ?? []) as unknown[]) {
    if (!isObject(g) || typeof g.id !== "number" || !isLocation(g.userLocation)) {
      throw new Error("the adapter's goroutines response has a malformed goroutine");
    }
  }
  for (const group of (groups ?? []) as unknown[]) {
    if (!isObject(group) || typeof group.key !== "string" || typeof group.count !== "number") {
      throw new Error("the adapter's goroutines response has a malformed group");
    }
  }
  return value as unknown as GoroutinesResponseBody;
}

export function asCrashSummary(value: unknown): CrashSummaryBody | undefined {
  if (!isObject(value) || typeof value.headline !== "string") {
    return undefined;
  }
  return value as unknown as CrashSummaryBody;
}
