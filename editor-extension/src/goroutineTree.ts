// The Goroutines view's model: which requests to send, how the answers become tree nodes, and what each
// node looks like. Pure (no vscode import) so that it is unit-tested on canned `goroutines` bodies; the
// vscode TreeDataProvider in goroutinesView.ts only does the I/O and turns NodeView into TreeItem.
import type {
  GoGoroutine,
  GoGoroutineGroup,
  GoLocation,
  GoroutineFilter,
  GoroutinesArguments,
  GoroutinesResponseBody,
  GroupBy,
} from "./goProtocol";

export interface IconSpec {
  /** A codicon id (ThemeIcon). */
  id: string;
  /** A theme color id (ThemeColor), e.g. "charts.green". */
  color?: string;
}

export type Collapsible = "none" | "collapsed" | "expanded";

export interface NodeView {
  label: string;
  /** Highlight the whole label (the crashing goroutine and its group). */
  highlight: boolean;
  description?: string;
  /** Markdown. */
  tooltip: string;
  icon: IconSpec;
  collapsible: Collapsible;
  /** For `when` clauses of menus (viewItem). */
  contextValue: string;
}

export interface PagedList<T> {
  items: T[];
  /** How many there are in all (of groups at the root, of members in a group). */
  total: number;
  loaded: boolean;
}

export interface GroupNode {
  kind: "group";
  id: string;
  group: GoGoroutineGroup;
  members: PagedList<GoroutineNode>;
  stack: StackNode;
  /** The "Go runtime" folder that holds the runtime's own groups of a page. */
  parent?: RuntimeFolderNode;
}

/** The runtime's own groups of one page (GC workers, finalizers, ...), folded away below the user's. */
export interface RuntimeFolderNode {
  kind: "runtime";
  id: string;
  groups: GroupNode[];
}

export interface GoroutineNode {
  kind: "goroutine";
  id: string;
  goroutine: GoGoroutine;
  parent?: GroupNode;
  /** Shown though the filter hides it: the crashing goroutine is always at hand. */
  pinned?: boolean;
}

export interface StackNode {
  kind: "stack";
  id: string;
  parent: GroupNode;
}

export interface FrameNode {
  kind: "frame";
  id: string;
  location: GoLocation;
  index: number;
  parent: StackNode;
}

export interface LoadMoreNode {
  kind: "loadMore";
  id: string;
  parent?: GroupNode;
  start: number;
  remaining: number;
}

export interface MessageNode {
  kind: "message";
  id: string;
  text: string;
  parent?: GroupNode;
}

export type TreeNode = GroupNode | GoroutineNode | StackNode | FrameNode | LoadMoreNode | MessageNode | RuntimeFolderNode;

export const GROUPINGS: ReadonlyArray<{ groupBy: GroupBy | "label"; title: string; detail: string }> = [
  { groupBy: "stack", title: "Stack", detail: "goroutines with identical stacks (like pprof's goroutine?debug=1)" },
  { groupBy: "location", title: "Location", detail: "the same line of your code (the innermost frame of the program's own)" },
  { groupBy: "waitReason", title: "Wait reason", detail: "chan receive, select, IO wait, sync.Mutex.Lock, ..." },
  { groupBy: "waitObject", title: "Wait object", detail: "the same channel, mutex, WaitGroup or Cond, waited on the same way" },
  { groupBy: "creator", title: "Creator", detail: "the function whose go statement started them" },
  { groupBy: "startFunction", title: "Start function", detail: "the function each goroutine started in" },
  { groupBy: "label", title: "pprof label…", detail: "the value of a pprof label key" },
  { groupBy: "none", title: "None", detail: "a flat list, crashing goroutine first" },
];

export function groupByTitle(groupBy: GroupBy): string {
  if (groupBy.startsWith("label:")) {
    return `label ${groupBy.slice("label:".length)}`;
  }
  const entry = GROUPINGS.find((g) => g.groupBy === groupBy);
  return entry ? entry.title.toLowerCase() : groupBy;
}

export function isValidGroupBy(value: string): value is GroupBy {
  return ["none", "stack", "location", "waitReason", "waitObject", "creator", "startFunction"].includes(value) || /^label:.+/.test(value);
}

// --- presentation helpers -------------------------------------------------------------------------------------

/** The runtime's own frames (architecture.md "Frame classification"). */
export function isRuntimeInternal(fn: string): boolean {
  return fn === "panic" || fn.startsWith("runtime.") || fn.startsWith("runtime/internal/") || fn.startsWith("internal/");
}

/** "github.com/acme/app/internal/pool.(*Pool).worker" -> "pool.(*Pool).worker" */
export function shortFunction(fn: string): string {
  const paren = fn.indexOf("(");
  const head = paren >= 0 ? fn.slice(0, paren) : fn;
  const slash = head.lastIndexOf("/");
  return slash >= 0 ? fn.slice(slash + 1) : fn;
}

export function baseName(file: string): string {
  const slash = Math.max(file.lastIndexOf("/"), file.lastIndexOf("\\"));
  return slash >= 0 ? file.slice(slash + 1) : file;
}

export function shortLocation(loc: GoLocation | undefined): string {
  if (!loc || !loc.file) {
    return "";
  }
  return `${baseName(loc.file)}:${loc.line}`;
}

export type StateFamily = "crashed" | "running" | "runnable" | "syscall" | "io" | "channel" | "select" | "lock" | "sleep" | "runtime" | "idle" | "other";

const ICONS: Record<StateFamily, IconSpec> = {
  crashed: { id: "error", color: "errorForeground" },
  running: { id: "play", color: "charts.green" },
  runnable: { id: "circle-outline", color: "charts.green" },
  syscall: { id: "terminal", color: "charts.purple" },
  io: { id: "plug", color: "charts.blue" },
  channel: { id: "arrow-swap", color: "charts.yellow" },
  select: { id: "list-selection", color: "charts.yellow" },
  lock: { id: "lock", color: "charts.orange" },
  sleep: { id: "watch" },
  runtime: { id: "gear" },
  idle: { id: "circle-slash" },
  other: { id: "question" },
};

/** The family of a state text as the runtime prints it ("chan receive", "sync.Mutex.Lock", "IO wait", ...). */
export function stateFamily(state: string): StateFamily {
  const s = state.trim();
  if (s === "running") {
    return "running";
  }
  if (s === "runnable" || s === "preempted") {
    return "runnable";
  }
  if (s === "syscall") {
    return "syscall";
  }
  if (s === "IO wait") {
    return "io";
  }
  if (s.startsWith("chan ")) {
    return "channel";
  }
  if (s.startsWith("select")) {
    return "select";
  }
  if (s === "semacquire" || s.startsWith("sync.") || s.startsWith("synctest.")) {
    return "lock";
  }
  if (s === "sleep") {
    return "sleep";
  }
  if (s === "idle" || s === "dead" || s === "") {
    return "idle";
  }
  if (
    /^(GC |gc |garbage collection|finalizer wait|force gc|wait for GC|trace |stopping the world|debug call|flushing proc caches|page trace flush|panicwait|dumping heap|coroutine|copystack|cleanup wait)/.test(
      s,
    )
  ) {
    return "runtime";
  }
  return "other";
}

export function stateIcon(state: string, crashed: boolean): IconSpec {
  return ICONS[crashed ? "crashed" : stateFamily(state)];
}

function plural(n: number, one: string, many = `${one}s`): string {
  return `${n.toLocaleString("en-US")} ${n === 1 ? one : many}`;
}

function waitText(g: GoGoroutine): string {
  const minutes = g.waitMinutes ?? 0;
  return minutes > 0 ? `${g.state}, ${plural(minutes, "minute")}` : g.state;
}

/** "chan receive" or "chan receive 120 · select 3" (biggest first). */
export function statesSummary(states: Record<string, number>): string {
  const entries = Object.entries(states).sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
  if (entries.length === 1) {
    return entries[0][0];
  }
  return entries.map(([state, n]) => `${state} ${n.toLocaleString("en-US")}`).join(" · ");
}

function dominantState(group: GoGoroutineGroup): string {
  const entries = Object.entries(group.states);
  if (entries.length === 0) {
    return group.representative?.state ?? "";
  }
  return entries.sort((a, b) => b[1] - a[1])[0][0];
}

function code(text: string): string {
  // A code span that survives backticks in the text.
  const ticks = text.includes("`") ? "``" : "`";
  const pad = text.startsWith("`") || text.endsWith("`") ? " " : "";
  return `${ticks}${pad}${text}${pad}${ticks}`;
}

function locationLine(loc: GoLocation): string {
  return `${code(loc.function)} ${code(`${loc.file}:${loc.line}`)}`;
}

/** "in sync.(*Mutex).Lock": the library call a goroutine waits in, below its place in the program's code. */
export function waitingInText(g: GoGoroutine): string {
  return g.waitingIn ? `in ${g.waitingIn}` : "";
}

export function goroutineTooltip(g: GoGoroutine): string {
  const lines = [`**goroutine ${g.id}** [${waitText(g)}]${g.crashed ? " — **crashed**" : ""}${g.system ? " (runtime)" : ""}`, ""];
  lines.push(`- at ${locationLine(g.userLocation)}${g.waitingIn ? ` · in ${code(g.waitingIn)}` : ""}`);
  if (g.currentLocation && (g.currentLocation.function !== g.userLocation.function || g.currentLocation.line !== g.userLocation.line)) {
    lines.push(`- in ${locationLine(g.currentLocation)}`);
  }
  if (g.creationLocation) {
    lines.push(`- created by ${locationLine(g.creationLocation)}${g.parentId ? ` in goroutine ${g.parentId}` : ""}`);
  }
  if (g.startFunction) {
    lines.push(`- started in ${code(g.startFunction)}`);
  }
  const labels = Object.entries(g.labels ?? {});
  if (labels.length > 0) {
    lines.push(`- labels: ${labels.map(([k, v]) => code(`${k}=${v}`)).join(", ")}`);
  }
  if (g.threadId) {
    lines.push(`- on thread ${g.threadId}`);
  }
  return lines.join("\n");
}

export function groupTooltip(group: GoGoroutineGroup, groupBy: GroupBy): string {
  const lines = [
    `**${plural(group.count, "goroutine")}** grouped by ${groupByTitle(groupBy)}${group.containsCrashing ? " — **contains the crashing goroutine**" : ""}`,
    "",
    `States: ${statesSummary(group.states)}${group.statesSampled ? ` (of a sample of ${group.statesSampled.toLocaleString("en-US")})` : ""}`,
    "",
  ];
  if (group.stack.length > 0) {
    lines.push("```");
    for (const loc of group.stack.slice(0, 30)) {
      lines.push(loc.function, `\t${loc.file}:${loc.line}`);
    }
    if (group.stack.length > 30) {
      lines.push(`... ${group.stack.length - 30} more frames`);
    }
    lines.push("```");
  } else if (group.representative) {
    lines.push(`At ${locationLine(group.representative.userLocation)}`);
  }
  return lines.join("\n");
}

// --- the model ------------------------------------------------------------------------------------------------

export interface ModelOptions {
  groupBy: GroupBy;
  pageSize: number;
  filter?: GoroutineFilter;
}

export class GoroutineTreeModel {
  groupBy: GroupBy;
  pageSize: number;
  filter: GoroutineFilter;
  /** Bumped whenever what the nodes mean changes, so that VS Code does not reuse expansion state across it. */
  private generation = 0;
  private rootItems: TreeNode[] = [];
  private rootLoaded = 0;
  private rootTotal = 0;
  loaded = false;
  total = 0;
  totalUnfiltered = 0;
  approximate = false;
  /** Why the adapter listed the goroutines through Delve rather than reading them from the core. */
  note: string | undefined;
  crashing: GoGoroutine | null = null;
  /** The goroutine the editor opens when no goroutine crashed: its group is expanded like the crasher's. */
  landingGoroutineId: number | undefined;

  constructor(options: ModelOptions) {
    this.groupBy = options.groupBy;
    this.pageSize = options.pageSize;
    this.filter = options.filter ?? {};
  }

  /** Forget everything (a new session, another grouping or filter). */
  reset(): void {
    this.generation++;
    this.rootItems = [];
    this.rootLoaded = 0;
    this.rootTotal = 0;
    this.loaded = false;
    this.total = 0;
    this.totalUnfiltered = 0;
    this.approximate = false;
    this.note = undefined;
    this.crashing = null;
  }

  get grouped(): boolean {
    return this.groupBy !== "none";
  }

  hasFilter(): boolean {
    const f = this.filter;
    return Boolean(f.text || f.function || f.label || f.creator || f.userOnly || (f.states && f.states.length > 0));
  }

  filterSummary(): string {
    const f = this.filter;
    const parts: string[] = [];
    if (f.text) {
      parts.push(`"${f.text}"`);
    }
    if (f.states?.length) {
      parts.push(`state ${f.states.join("|")}`);
    }
    if (f.label) {
      parts.push(`label ${f.label}`);
    }
    if (f.function) {
      parts.push(`function ${f.function}`);
    }
    if (f.creator) {
      parts.push(`creator ${f.creator}`);
    }
    if (f.userOnly) {
      parts.push("user only");
    }
    return parts.join(", ");
  }

  private cleanFilter(): GoroutineFilter | undefined {
    return this.hasFilter() ? { ...this.filter } : undefined;
  }

  rootRequest(start = this.rootLoaded): GoroutinesArguments {
    const args: GoroutinesArguments = { start, count: this.pageSize, groupBy: this.groupBy };
    const filter = this.cleanFilter();
    if (filter) {
      args.filter = filter;
    }
    if (this.grouped) {
      args.memberCount = 0;
    }
    return args;
  }

  memberRequest(node: GroupNode, start = node.members.items.length): GoroutinesArguments {
    const args: GoroutinesArguments = { start, count: this.pageSize, groupBy: this.groupBy, group: node.group.key };
    const filter = this.cleanFilter();
    if (filter) {
      args.filter = filter;
    }
    return args;
  }

  private prefix(): string {
    return `${this.generation}:${this.groupBy}`;
  }

  private goroutineNode(g: GoGoroutine, parent?: GroupNode, pinned = false): GoroutineNode {
    const id = `${parent ? parent.id : this.prefix()}/g${g.id}${pinned ? "/pinned" : ""}`;
    return parent ? { kind: "goroutine", id, goroutine: g, parent, pinned } : { kind: "goroutine", id, goroutine: g, pinned };
  }

  private groupNode(group: GoGoroutineGroup): GroupNode {
    const node: GroupNode = {
      kind: "group",
      id: `${this.prefix()}/k${group.key}`,
      group,
      members: { items: [], total: group.count, loaded: false },
      stack: undefined as unknown as StackNode,
    };
    node.stack = { kind: "stack", id: `${node.id}/stack`, parent: node };
    return node;
  }

  /** Takes a page of the root (groups, or goroutines when ungrouped); `start` 0 replaces what was there. */
  acceptRoot(body: GoroutinesResponseBody, start: number): void {
    if (start === 0) {
      this.rootItems = [];
      this.rootLoaded = 0;
    } else {
      this.rootItems = this.rootItems.filter((n) => n.kind !== "loadMore");
    }
    this.loaded = true;
    this.total = body.total;
    this.totalUnfiltered = body.totalUnfiltered;
    this.approximate = Boolean(body.approximate);
    this.note = body.note;
    this.crashing = body.crashing ?? null;

    const page: TreeNode[] = [];
    if (this.grouped) {
      const groups = [...(body.groups ?? [])];
      // The adapter puts the crashing goroutine's group first; make sure of it whatever it does.
      const crashAt = groups.findIndex((g) => g.containsCrashing);
      if (start === 0 && crashAt > 0) {
        groups.unshift(...groups.splice(crashAt, 1));
      }
      // The user's groups first (the crasher's leading), then the runtime's own folded into one node: the
      // runtime's goroutines all park in runtime.gopark and would crowd out the ones that explain the crash.
      const user = groups.filter((g) => g.containsCrashing || !g.representative?.system);
      const runtime = groups.filter((g) => !g.containsCrashing && g.representative?.system);
      page.push(...user.map((g) => this.groupNode(g)));
      if (runtime.length > 0) {
        const folder: RuntimeFolderNode = { kind: "runtime", id: `${this.prefix()}/runtime@${start}`, groups: [] };
        folder.groups = runtime.map((g) => ({ ...this.groupNode(g), parent: folder }));
        for (const node of folder.groups) {
          node.stack.parent = node;
        }
        page.push(folder);
      }
      this.rootTotal = body.totalGroups ?? groups.length;
    } else {
      const goroutines = [...(body.goroutines ?? [])];
      const crashAt = goroutines.findIndex((g) => g.crashed);
      if (start === 0 && crashAt > 0) {
        goroutines.unshift(...goroutines.splice(crashAt, 1));
      }
      page.push(...goroutines.map((g) => this.goroutineNode(g)));
      this.rootTotal = body.total;
    }
    this.rootLoaded = start + (this.grouped ? (body.groups ?? []).length : page.length);

    if (start === 0 && this.crashing && !this.containsCrashing(page)) {
      // Filtered out (or on a later page): pin it, the crash is what the user came for.
      page.unshift(this.goroutineNode(this.crashing, undefined, true));
    }
    if (start === 0 && page.length === 0) {
      page.push({
        kind: "message",
        id: `${this.prefix()}/empty`,
        text: this.hasFilter() ? "No goroutine matches the filter." : "No goroutines.",
      });
    }
    this.rootItems.push(...page);
    const remaining = this.rootTotal - this.rootLoaded;
    if (remaining > 0) {
      this.rootItems.push({ kind: "loadMore", id: `${this.prefix()}/more@${this.rootLoaded}`, start: this.rootLoaded, remaining });
    }
  }

  private containsCrashing(nodes: TreeNode[]): boolean {
    return nodes.some((n) => (n.kind === "group" && n.group.containsCrashing) || (n.kind === "goroutine" && n.goroutine.crashed));
  }

  /** Takes a page of a group's members. */
  acceptMembers(node: GroupNode, body: GoroutinesResponseBody, start: number): void {
    const members = body.goroutines ?? [];
    const items = start === 0 ? [] : node.members.items;
    const page = [...members];
    const crashAt = page.findIndex((g) => g.crashed);
    if (start === 0 && crashAt > 0) {
      page.unshift(...page.splice(crashAt, 1));
    }
    // `total` counts every goroutine that matches the filter; the group's own size is its `count` (the
    // answer to a `group` request carries that group alone in `groups`).
    const self = (body.groups ?? []).find((g) => g.key === node.group.key);
    node.members = {
      items: [...items, ...page.map((g) => this.goroutineNode(g, node))],
      total: self?.count ?? node.group.count,
      loaded: true,
    };
  }

  rootChildren(): TreeNode[] {
    return this.rootItems;
  }

  /** Children that are already known; undefined for a group whose members must be fetched first. */
  children(node: TreeNode): TreeNode[] | undefined {
    switch (node.kind) {
      case "group": {
        if (!node.members.loaded) {
          return undefined;
        }
        const out: TreeNode[] = [];
        if (node.group.stack.length > 0) {
          out.push(node.stack);
        }
        out.push(...node.members.items);
        const remaining = node.members.total - node.members.items.length;
        if (remaining > 0) {
          out.push({ kind: "loadMore", id: `${node.id}/more@${node.members.items.length}`, parent: node, start: node.members.items.length, remaining });
        }
        return out;
      }
      case "stack":
        return node.parent.group.stack.map((location, index) => ({ kind: "frame", id: `${node.id}/${index}`, location, index, parent: node }));
      case "runtime":
        return node.groups;
      default:
        return [];
    }
  }

  parent(node: TreeNode): TreeNode | undefined {
    switch (node.kind) {
      case "group":
        return node.parent;
      case "goroutine":
      case "loadMore":
      case "message":
        return node.parent;
      case "stack":
      case "frame":
        return node.parent;
      default:
        return undefined;
    }
  }

  /** The node of the crashing goroutine's group, or of the crashing goroutine itself when ungrouped. */
  crashingNode(): TreeNode | undefined {
    return this.rootItems.find((n) => (n.kind === "group" && n.group.containsCrashing) || (n.kind === "goroutine" && n.goroutine.crashed));
  }

  private holdsLanding(node: TreeNode): boolean {
    const id = this.landingGoroutineId;
    if (id === undefined) {
      return false;
    }
    if (node.kind === "group") {
      return node.group.representative?.id === id || node.group.memberIds.includes(id);
    }
    return node.kind === "goroutine" && node.goroutine.id === id;
  }

  /**
   * No goroutine crashed: the node to open, the group (or goroutine) of the asleep goroutine the editor opened;
   * the adapter lists the asleep user goroutines first, so without a known one, the first of the program's.
   */
  landingNode(): TreeNode | undefined {
    if (this.crashing) {
      return undefined;
    }
    return this.rootItems.find((n) => this.holdsLanding(n)) ?? this.rootItems.find((n) => n.kind === "group" || n.kind === "goroutine");
  }

  /** The view's description: "312 goroutines · by stack (17 groups)". */
  summary(): string {
    if (!this.loaded) {
      return "";
    }
    const count =
      this.total === this.totalUnfiltered
        ? plural(this.total, "goroutine")
        : `${this.total.toLocaleString("en-US")} of ${plural(this.totalUnfiltered, "goroutine")}`;
    const grouping = this.grouped
      ? ` · by ${groupByTitle(this.groupBy)}${this.approximate ? " (approx.)" : ""} (${plural(this.rootTotal, "group")})`
      : "";
    const filter = this.hasFilter() ? ` · filter: ${this.filterSummary()}` : "";
    return `${count}${grouping}${filter}`;
  }

  view(node: TreeNode): NodeView {
    switch (node.kind) {
      case "group": {
        const g = node.group;
        const rep = g.representative;
        const crashed = g.containsCrashing;
        // Inside "Go runtime" every label would read "runtime.gopark (proc.go:N) < ...": the start function
        // (runtime.forcegchelper, runtime.runFinalizers, ...) tells them apart.
        const label = node.parent && rep?.startFunction ? shortFunction(rep.startFunction) : g.label || (rep ? shortFunction(rep.userLocation.function) : g.key);
        const where = rep && !node.parent && (this.groupBy === "stack" || this.groupBy === "location") ? shortLocation(rep.userLocation) : "";
        const parts = [`×${g.count.toLocaleString("en-US")}`, statesSummary(g.states)];
        if (where && !label.includes(where)) {
          parts.push(where);
        }
        if (crashed) {
          parts.unshift("crashed");
        }
        const landing = !crashed && !node.parent && this.holdsLanding(node);
        return {
          label,
          highlight: crashed,
          description: parts.filter(Boolean).join(" · "),
          tooltip: groupTooltip(g, this.groupBy),
          icon: stateIcon(dominantState(g), crashed),
          collapsible: crashed || landing ? "expanded" : "collapsed",
          contextValue: crashed ? "goCore.group.crashing" : "goCore.group",
        };
      }
      case "goroutine": {
        const g = node.goroutine;
        const inGroup = node.parent !== undefined;
        const label = inGroup ? `goroutine ${g.id}` : `${g.id}  ${shortFunction(g.userLocation.function)}`;
        const parts = [waitText(g)];
        if (!inGroup || ["waitReason", "waitObject", "creator"].includes(this.groupBy) || this.groupBy.startsWith("label:")) {
          parts.push(shortLocation(g.userLocation));
          // The group label of a stack or location group already says what it waits in.
          parts.push(waitingInText(g));
        }
        const labels = Object.entries(g.labels ?? {});
        if (labels.length > 0) {
          parts.push(labels.map(([k, v]) => `${k}=${v}`).join(" "));
        }
        if (g.crashed) {
          parts.unshift(node.pinned ? "crashed (hidden by the filter)" : "crashed");
        }
        return {
          label,
          highlight: g.crashed,
          description: parts.filter(Boolean).join(" · "),
          tooltip: goroutineTooltip(g),
          icon: stateIcon(g.state, g.crashed),
          collapsible: "none",
          contextValue: g.crashed ? "goCore.goroutine.crashing" : "goCore.goroutine",
        };
      }
      case "stack":
        return {
          label: "Stack",
          highlight: false,
          description: plural(node.parent.group.stack.length, "frame"),
          tooltip: "The stack shared by this group (its representative goroutine's).",
          icon: { id: "layers" },
          collapsible: "collapsed",
          contextValue: "goCore.stack",
        };
      case "frame": {
        const runtime = isRuntimeInternal(node.location.function);
        return {
          label: shortFunction(node.location.function),
          highlight: false,
          description: `${shortLocation(node.location)}${runtime ? " · runtime" : ""}`,
          tooltip: locationLine(node.location),
          icon: { id: runtime ? "debug-stackframe-dot" : "debug-stackframe" },
          collapsible: "none",
          contextValue: "goCore.frame",
        };
      }
      case "runtime": {
        const count = node.groups.reduce((n, g) => n + g.group.count, 0);
        return {
          label: "Go runtime",
          highlight: false,
          description: `${plural(count, "goroutine")} · ${plural(node.groups.length, "group")}`,
          tooltip:
            "The runtime's own goroutines (GC workers, the finalizer, the scavenger, ...), folded here so that the program's come first. " +
            "Hide them with Filter Goroutines › Hide runtime goroutines.",
          icon: { id: "gear" },
          collapsible: "collapsed",
          contextValue: "goCore.runtime",
        };
      }
      case "loadMore":
        return {
          label: "Load more…",
          highlight: false,
          description: `${node.remaining.toLocaleString("en-US")} more ${node.parent || !this.grouped ? "goroutines" : "groups"}`,
          tooltip: `Load the next ${Math.min(this.pageSize, node.remaining)}`,
          icon: { id: "ellipsis" },
          collapsible: "none",
          contextValue: "goCore.loadMore",
        };
      case "message":
        return { label: node.text, highlight: false, tooltip: node.text, icon: { id: "info" }, collapsible: "none", contextValue: "goCore.message" };
    }
  }
}

/** The text of a group's stack, as in a Go traceback (for "Copy Stack"). */
export function stackText(group: GoGoroutineGroup): string {
  const head = `${group.count} goroutine${group.count === 1 ? "" : "s"} [${statesSummary(group.states)}]:`;
  const frames = group.stack.length > 0 ? group.stack : group.representative ? [group.representative.userLocation] : [];
  return [head, ...frames.flatMap((loc) => [loc.function + "(...)", `\t${loc.file}:${loc.line}`])].join("\n") + "\n";
}
