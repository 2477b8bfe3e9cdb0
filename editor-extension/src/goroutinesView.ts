// The Goroutines view in the Run and Debug sidebar, fed by gocore-dap's `goroutines` request.
import { promises as fs } from "node:fs";
import * as vscode from "vscode";
import { statusText } from "./crashInfo";
import { asGoroutinesBody, GoGoroutine, GoLocation, GoroutineFilter, GroupBy } from "./goProtocol";
import {
  GoroutineNode,
  GoroutineTreeModel,
  GroupNode,
  GROUPINGS,
  isValidGroupBy,
  LoadMoreNode,
  stackText,
  TreeNode,
  groupByTitle,
} from "./goroutineTree";
import { toEditorPath } from "./launchConfig";
import { GoCoreSessions, SessionInfo } from "./sessions";

export const VIEW_ID = "goCore.goroutines";
const GROUP_BY_KEY = "goCore.goroutines.groupBy";
/** How long the view's first listing waits for the editor to open the crash line (see loadRoot). */
const CRASH_LINE_FIRST_MS = 15_000;

const COMMON_STATES = [
  "running",
  "runnable",
  "syscall",
  "IO wait",
  "chan receive",
  "chan send",
  "select",
  "sleep",
  "semacquire",
  "sync.Mutex.Lock",
  "sync.RWMutex.Lock",
  "sync.RWMutex.RLock",
  "sync.WaitGroup.Wait",
  "sync.Cond.Wait",
  "chan receive (nil chan)",
  "chan send (nil chan)",
  "select (no cases)",
  "GC worker (idle)",
  "finalizer wait",
];

export class GoroutinesView implements vscode.TreeDataProvider<TreeNode>, vscode.Disposable {
  private readonly model: GoroutineTreeModel;
  private readonly emitter = new vscode.EventEmitter<TreeNode | undefined | void>();
  readonly onDidChangeTreeData = this.emitter.event;
  private readonly view: vscode.TreeView<TreeNode>;
  private readonly disposables: vscode.Disposable[] = [];
  private info: SessionInfo | undefined;
  private shownKey: string | undefined;
  private rootLoad: Promise<void> | undefined;
  private error: string | undefined;
  private readonly seenStates = new Set<string>(COMMON_STATES);
  private readonly seenLabelKeys = new Set<string>();
  /** Sessions whose crash was already revealed once: the view opens by itself only on the first stop. */
  private readonly revealed = new Set<string>();

  constructor(
    private readonly sessions: GoCoreSessions,
    private readonly context: vscode.ExtensionContext,
    private readonly log: vscode.LogOutputChannel,
  ) {
    const config = vscode.workspace.getConfiguration("goCore.goroutines");
    const saved = context.workspaceState.get<string>(GROUP_BY_KEY);
    const configured = config.get<string>("groupBy", "stack");
    const groupBy = saved && isValidGroupBy(saved) ? saved : isValidGroupBy(configured) ? configured : "stack";
    this.model = new GoroutineTreeModel({ groupBy, pageSize: config.get<number>("pageSize", 100) });
    this.view = vscode.window.createTreeView(VIEW_ID, { treeDataProvider: this, showCollapseAll: true });
    this.disposables.push(
      this.view,
      this.emitter,
      sessions.onDidChange((info) => this.onSessionChange(info)),
      vscode.commands.registerCommand("goCore.goroutines.refresh", () => this.reload()),
      vscode.commands.registerCommand("goCore.goroutines.groupBy", () => this.chooseGrouping()),
      vscode.commands.registerCommand("goCore.goroutines.filter", () => this.chooseFilter()),
      vscode.commands.registerCommand("goCore.goroutines.clearFilter", () => this.setFilter({})),
      vscode.commands.registerCommand("goCore.goroutines.showCrashing", () => this.showCrashing()),
      vscode.commands.registerCommand("goCore.goroutines.select", (node?: GoroutineNode) => this.selectGoroutine(node)),
      vscode.commands.registerCommand("goCore.goroutines.openLocation", (loc?: GoLocation) => this.openLocation(loc)),
      vscode.commands.registerCommand("goCore.goroutines.loadMore", (node?: LoadMoreNode) => this.loadMore(node)),
      vscode.commands.registerCommand("goCore.goroutines.copyStack", (node?: GroupNode) => this.copyStack(node)),
      // The source's code lenses ("N goroutines in this function"): the view, filtered to that function.
      vscode.commands.registerCommand("goCore.goroutines.filterFunction", (fn?: string) => this.filterFunction(fn)),
      vscode.workspace.onDidChangeConfiguration((e) => {
        if (e.affectsConfiguration("goCore.goroutines.pageSize")) {
          this.model.pageSize = vscode.workspace.getConfiguration("goCore.goroutines").get<number>("pageSize", 100);
        }
      }),
    );
    void vscode.commands.executeCommand("setContext", "goCore.goroutinesFiltered", false);
    this.onSessionChange(sessions.current());
  }

  dispose(): void {
    for (const d of this.disposables) {
      d.dispose();
    }
  }

  // --- session ---------------------------------------------------------------------------------------------

  private onSessionChange(_changed: SessionInfo | undefined): void {
    const current = this.sessions.current();
    this.info = current;
    this.model.landingGoroutineId = current?.landingThreadId ?? current?.crash?.landingGoroutineId;
    // What the tree shows: this session at this stop. Anything else means reloading.
    const key = current?.stopped ? `${current.session.id}#${current.stops}` : current ? `${current.session.id}#-` : undefined;
    if (key !== this.shownKey) {
      const newSession = current !== undefined && !this.shownKey?.startsWith(`${current.session.id}#`);
      if (newSession && GoCoreSessions.configOf(current.session).hideSystemGoroutines === true && !this.model.filter.userOnly) {
        // The launch configuration hides the runtime's goroutines from the Call Stack: so does the view.
        this.model.filter = { ...this.model.filter, userOnly: true };
        void vscode.commands.executeCommand("setContext", "goCore.goroutinesFiltered", true);
      }
      this.shownKey = key;
      this.model.reset();
      this.rootLoad = undefined;
      this.error = undefined;
      this.emitter.fire();
      if (current?.stopped) {
        void this.revealCrashOnce(current);
      }
    }
    this.updateHeader();
  }

  private updateHeader(): void {
    const info = this.info;
    if (!info) {
      this.view.message = "No Go core dump is open. Run “Go: Open Core Dump…” to open one.";
      this.view.description = "";
      return;
    }
    if (!info.stopped) {
      this.view.message = "Loading the core…";
      this.view.description = "";
      return;
    }
    const crash = info.crash;
    const note = this.model.note ? ` — ${this.model.note}` : "";
    this.view.message = this.error ?? (crash ? `${statusText(crash)}${note}` : this.model.note);
    this.view.description = this.model.summary();
  }

  private async revealCrashOnce(info: SessionInfo): Promise<void> {
    if (this.revealed.has(info.session.id)) {
      return;
    }
    this.revealed.add(info.session.id);
    if (!vscode.workspace.getConfiguration("goCore.goroutines").get<boolean>("revealOnStop", true)) {
      return;
    }
    await this.ensureRoot();
    // No goroutine crashed (a deadlock, an external signal): the asleep goroutines the adapter lists first,
    // the one the editor opened among them.
    const node = this.model.crashingNode() ?? this.model.landingNode();
    if (node && this.info === info) {
      try {
        // Opens the view (collapsed at the bottom of Run and Debug by default) without taking the focus.
        await this.view.reveal(node, { select: true, focus: false, expand: true });
      } catch (error) {
        this.log.warn(`could not reveal the crashing goroutine: ${(error as Error).message}`);
      }
    }
  }

  // --- loading ---------------------------------------------------------------------------------------------

  private async request(args: object): Promise<ReturnType<typeof asGoroutinesBody>> {
    const info = this.info;
    if (!info) {
      throw new Error("no go-core session");
    }
    return asGoroutinesBody(await info.session.customRequest("goroutines", args));
  }

  private remember(goroutines: readonly GoGoroutine[]): void {
    for (const g of goroutines) {
      if (g.state) {
        this.seenStates.add(g.state);
      }
      for (const key of Object.keys(g.labels ?? {})) {
        this.seenLabelKeys.add(key);
      }
    }
  }

  private ensureRoot(): Promise<void> {
    if (!this.rootLoad) {
      this.rootLoad = this.loadRoot(0);
    }
    return this.rootLoad;
  }

  private async loadRoot(start: number): Promise<void> {
    const info = this.info;
    if (!info?.stopped) {
      return;
    }
    // The crash line before the listing: on a big core the listing is the slow part, and the adapter (two
    // cores, one Python) answers the editor's stack sooner when the view does not ask at the same time.
    await this.sessions.whenStackShown(info, CRASH_LINE_FIRST_MS);
    if (this.info !== info) {
      return;
    }
    try {
      const body = await this.request(this.model.rootRequest(start));
      if (this.info !== info) {
        return; // the session changed while waiting
      }
      this.error = undefined;
      this.model.acceptRoot(body, start);
      if (start === 0 && body.approximate) {
        this.refreshWhenExact();
      }
      this.remember(body.goroutines ?? []);
      this.remember((body.groups ?? []).flatMap((g) => (g.representative ? [g.representative] : [])));
      for (const g of body.groups ?? []) {
        for (const state of Object.keys(g.states)) {
          this.seenStates.add(state);
        }
      }
    } catch (error) {
      this.error = `The adapter could not list the goroutines: ${(error as Error).message}`;
      this.log.error(this.error);
    }
    this.updateHeader();
  }

  private async loadMembers(node: GroupNode, start: number): Promise<void> {
    try {
      const body = await this.request(this.model.memberRequest(node, start));
      this.model.acceptMembers(node, body, start);
      this.remember(body.goroutines ?? []);
    } catch (error) {
      node.members = { items: [], total: 0, loaded: true };
      void vscode.window.showErrorMessage(`Could not list the goroutines of this group: ${(error as Error).message}`);
    }
  }

  private approximateRefreshFor: string | undefined;

  /**
   * The first grouped answer on a big core is estimated from a sample while the adapter reads the full
   * listing ("approximate"); ask again once, shortly after, to show the exact counts.
   */
  private refreshWhenExact(): void {
    const key = this.shownKey;
    if (!key || this.approximateRefreshFor === key) {
      return;
    }
    this.approximateRefreshFor = key;
    const timer = setTimeout(() => {
      if (this.shownKey === key) {
        this.reload();
      }
    }, 2000);
    this.disposables.push({ dispose: () => clearTimeout(timer) });
  }

  private reload(): void {
    this.model.reset();
    this.rootLoad = undefined;
    this.error = undefined;
    this.emitter.fire();
    this.updateHeader();
  }

  private async loadMore(node?: LoadMoreNode): Promise<void> {
    if (!node) {
      return;
    }
    await vscode.window.withProgress({ location: { viewId: VIEW_ID } }, async () => {
      if (node.parent) {
        await this.loadMembers(node.parent, node.start);
        this.emitter.fire(node.parent);
      } else {
        await this.loadRoot(node.start);
        this.emitter.fire();
      }
    });
  }

  // --- TreeDataProvider ------------------------------------------------------------------------------------

  async getChildren(node?: TreeNode): Promise<TreeNode[]> {
    if (!this.info?.stopped) {
      return [];
    }
    if (!node) {
      await this.ensureRoot();
      return this.model.rootChildren();
    }
    if (node.kind === "group" && !node.members.loaded) {
      await this.loadMembers(node, 0);
    }
    return this.model.children(node) ?? [];
  }

  getParent(node: TreeNode): TreeNode | undefined {
    return this.model.parent(node);
  }

  getTreeItem(node: TreeNode): vscode.TreeItem {
    const v = this.model.view(node);
    const label: vscode.TreeItemLabel | string = v.highlight ? { label: v.label, highlights: [[0, v.label.length]] } : v.label;
    const collapsible =
      v.collapsible === "expanded"
        ? vscode.TreeItemCollapsibleState.Expanded
        : v.collapsible === "collapsed"
          ? vscode.TreeItemCollapsibleState.Collapsed
          : vscode.TreeItemCollapsibleState.None;
    const item = new vscode.TreeItem(label, collapsible);
    item.id = node.id;
    if (v.description !== undefined) {
      item.description = v.description;
    }
    const tooltip = new vscode.MarkdownString(v.tooltip);
    tooltip.supportThemeIcons = true;
    item.tooltip = tooltip;
    item.iconPath = new vscode.ThemeIcon(v.icon.id, v.icon.color ? new vscode.ThemeColor(v.icon.color) : undefined);
    item.contextValue = v.contextValue;
    switch (node.kind) {
      case "goroutine":
        item.command = { command: "goCore.goroutines.select", title: "Show in Call Stack", arguments: [node] };
        break;
      case "frame":
        item.command = { command: "goCore.goroutines.openLocation", title: "Open", arguments: [node.location] };
        break;
      case "loadMore":
        item.command = { command: "goCore.goroutines.loadMore", title: "Load more", arguments: [node] };
        break;
      default:
        break;
    }
    return item;
  }

  // --- commands --------------------------------------------------------------------------------------------

  private async selectGoroutine(node?: GoroutineNode): Promise<void> {
    const info = this.info;
    if (!node || !info) {
      return;
    }
    const g = node.goroutine;
    // The editor first (immediate), then the Call Stack, which re-opens the same frame once VS Code has
    // fetched the stack.
    await this.openLocation(g.userLocation);
    await this.makeThread(info, g.id);
    if (!this.sessions.focusThread(info, g)) {
      await vscode.commands.executeCommand("workbench.debug.action.focusCallStackView");
    }
  }

  /**
   * The thread list holds the crashing goroutine and the first `maxThreads` others: any other goroutine
   * becomes a thread first (the adapter's `revealGoroutine`), else the Call Stack could not select it.
   */
  private async makeThread(info: SessionInfo, goroutineId: number): Promise<void> {
    if (info.capabilities.supportsRevealGoroutineRequest !== true) {
      return;
    }
    try {
      await info.session.customRequest("revealGoroutine", { goroutineId });
    } catch (error) {
      this.log.warn(`could not make goroutine ${goroutineId} a thread: ${(error as Error).message}`);
    }
  }

  private async openLocation(loc?: GoLocation): Promise<void> {
    if (!loc?.file) {
      return;
    }
    const config = this.info ? GoCoreSessions.configOf(this.info.session) : undefined;
    const file = toEditorPath(loc.file, config?.substitutePath);
    try {
      await fs.access(file);
    } catch {
      void vscode.window.showWarningMessage(
        `Source not found: ${file} (${loc.function}). If the program was built elsewhere, map its paths with "substitutePath" in the launch configuration.`,
      );
      return;
    }
    const line = Math.max(0, loc.line - 1);
    const range = new vscode.Range(line, 0, line, 0);
    await vscode.window.showTextDocument(vscode.Uri.file(file), { selection: range, preview: true, preserveFocus: false });
  }

  private async showCrashing(): Promise<void> {
    await this.ensureRoot();
    const node = this.model.crashingNode();
    if (!node) {
      void vscode.window.showInformationMessage("No crashing goroutine (the crash happened on a thread without one, or no core is open).");
      return;
    }
    await this.view.reveal(node, { select: true, focus: true, expand: true });
    const crashing = this.model.crashing;
    if (crashing) {
      await this.selectGoroutine(
        node.kind === "goroutine" ? node : { kind: "goroutine", id: `${node.id}/crashing`, goroutine: crashing },
      );
    }
  }

  private async copyStack(node?: GroupNode): Promise<void> {
    if (node?.kind !== "group") {
      return;
    }
    await vscode.env.clipboard.writeText(stackText(node.group));
    vscode.window.setStatusBarMessage("Stack copied", 2000);
  }

  private async chooseGrouping(): Promise<void> {
    type Item = vscode.QuickPickItem & { groupBy: GroupBy | "label" };
    const current = this.model.groupBy;
    const items: Item[] = GROUPINGS.map((g) => ({
      label: g.title,
      description: g.groupBy === current || (g.groupBy === "label" && current.startsWith("label:")) ? "(current)" : "",
      detail: g.detail,
      groupBy: g.groupBy,
    }));
    const picked = await vscode.window.showQuickPick(items, { title: "Group goroutines by", placeHolder: `Now: ${groupByTitle(current)}` });
    if (!picked) {
      return;
    }
    let groupBy: GroupBy;
    if (picked.groupBy === "label") {
      const key = await this.askLabelKey(current.startsWith("label:") ? current.slice("label:".length) : undefined);
      if (!key) {
        return;
      }
      groupBy = `label:${key}`;
    } else {
      groupBy = picked.groupBy;
    }
    this.model.groupBy = groupBy;
    await this.context.workspaceState.update(GROUP_BY_KEY, groupBy);
    this.reload();
  }

  private async askLabelKey(current: string | undefined): Promise<string | undefined> {
    const keys = [...this.seenLabelKeys].sort();
    if (keys.length === 0) {
      return (
        await vscode.window.showInputBox({
          title: "Group by pprof label",
          prompt: "The label key (as set with pprof.Do / pprof.SetGoroutineLabels), e.g. tenant",
          ...(current ? { value: current } : {}),
          validateInput: (v) => (v.trim() ? undefined : "A label key is needed"),
        })
      )?.trim();
    }
    const quickPick = vscode.window.createQuickPick();
    quickPick.title = "Group by pprof label";
    quickPick.placeholder = "A label key seen in this core, or type another";
    quickPick.items = keys.map((k) => ({ label: k }));
    return new Promise<string | undefined>((resolve) => {
      quickPick.onDidAccept(() => {
        const value = quickPick.selectedItems[0]?.label ?? quickPick.value.trim();
        resolve(value || undefined);
        quickPick.hide();
      });
      quickPick.onDidHide(() => {
        resolve(undefined);
        quickPick.dispose();
      });
      quickPick.show();
    });
  }

  private async filterFunction(fn: string | undefined): Promise<void> {
    if (!fn) {
      return;
    }
    await this.setFilter({ function: fn });
    await vscode.commands.executeCommand(`${VIEW_ID}.focus`);
  }

  private async setFilter(filter: GoroutineFilter): Promise<void> {
    this.model.filter = filter;
    await vscode.commands.executeCommand("setContext", "goCore.goroutinesFiltered", this.model.hasFilter());
    this.reload();
  }

  private async chooseFilter(): Promise<void> {
    type Item = vscode.QuickPickItem & { action: "text" | "state" | "label" | "function" | "creator" | "userOnly" | "clear" };
    const f = this.model.filter;
    const items: Item[] = [
      { label: "$(search) Text…", description: f.text ?? "", detail: "id, state, function, file or label contains…", action: "text" },
      { label: "$(symbol-enum) State…", description: f.states?.join(", ") ?? "", detail: "running, chan receive, IO wait, sync.Mutex.Lock, …", action: "state" },
      { label: "$(tag) pprof label…", description: f.label ?? "", detail: "key=value, or key for any value", action: "label" },
      { label: "$(symbol-function) Function…", description: f.function ?? "", detail: "the first user frame's function or package contains…", action: "function" },
      { label: "$(git-branch) Creator…", description: f.creator ?? "", detail: "the function whose go statement started them contains…", action: "creator" },
      { label: f.userOnly ? "$(eye) Show runtime goroutines" : "$(eye-closed) Hide runtime goroutines", action: "userOnly" },
    ];
    if (this.model.hasFilter()) {
      items.push({ label: "$(clear-all) Clear filter", description: this.model.filterSummary(), action: "clear" });
    }
    const picked = await vscode.window.showQuickPick(items, { title: "Filter goroutines", placeHolder: this.model.filterSummary() || "No filter" });
    if (!picked) {
      return;
    }
    const next: GoroutineFilter = { ...f };
    const ask = async (key: "text" | "label" | "function" | "creator", prompt: string): Promise<boolean> => {
      const value = await vscode.window.showInputBox({ title: "Filter goroutines", prompt, value: next[key] ?? "" });
      if (value === undefined) {
        return false;
      }
      if (value.trim()) {
        next[key] = value.trim();
      } else {
        delete next[key];
      }
      return true;
    };
    switch (picked.action) {
      case "text":
        if (!(await ask("text", "Free text (empty: no text filter)"))) {
          return;
        }
        break;
      case "label":
        if (!(await ask("label", "pprof label key=value or key (empty: no label filter)"))) {
          return;
        }
        break;
      case "function":
        if (!(await ask("function", "Function or package substring (empty: none)"))) {
          return;
        }
        break;
      case "creator":
        if (!(await ask("creator", "Creator function substring (empty: none)"))) {
          return;
        }
        break;
      case "state": {
        const chosen = new Set(f.states ?? []);
        const states = [...this.seenStates].sort((a, b) => a.localeCompare(b));
        const picks = await vscode.window.showQuickPick(
          states.map((s) => ({ label: s, picked: chosen.has(s) })),
          { title: "Show goroutines in these states", canPickMany: true },
        );
        if (!picks) {
          return;
        }
        if (picks.length > 0) {
          next.states = picks.map((p) => p.label);
        } else {
          delete next.states;
        }
        break;
      }
      case "userOnly":
        if (next.userOnly) {
          delete next.userOnly;
        } else {
          next.userOnly = true;
        }
        break;
      case "clear":
        await this.setFilter({});
        return;
    }
    await this.setFilter(next);
  }
}
