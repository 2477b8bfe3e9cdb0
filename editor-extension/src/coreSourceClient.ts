// The crash in the source: starts `gocore-dap lsp` with vscode-languageclient when a go-core session stops (and
// for "Go: Show Core in Source…"), hands it the session's program and core, and stops it with the session
// unless the user pinned the core. The language server marks the crash line, the panic chain and every line
// where goroutines are parked (diagnostics, inlay hints, hovers, code lenses).
import { realpathSync } from "node:fs";
import * as path from "node:path";
import * as vscode from "vscode";
import { ExecuteCommandRequest, LanguageClient, LanguageClientOptions, Location as LspLocation, ServerOptions } from "vscode-languageclient/node";
import { adapterInput, showAdapterMissing } from "./adapterFactory";
import { findAdapter } from "./adapterDiscovery";
import {
  asLensArguments,
  CoreSourceState,
  initializationOptions,
  LSP_CLOSE_CORE,
  LSP_GOROUTINES_IN,
  LSP_OPEN_CORE,
  openCoreArguments,
  sameCore,
  SHOW_GOROUTINES_COMMAND,
} from "./coreSource";
import type { GoCoreLaunchConfig } from "./goProtocol";
import { DEBUG_TYPE } from "./launchConfig";
import { folderFor, pickCoreFile, pickExecutable } from "./pickers";
import { GoCoreSessions, SessionInfo } from "./sessions";

/** The Goroutines view's command that filters it to one function (registered by goroutinesView.ts). */
export const FILTER_FUNCTION_COMMAND = "goCore.goroutines.filterFunction";

interface CoreSummary {
  core: string;
  program: string;
  coreFile: string;
  crash?: string;
}

/** The server names files with symlinks resolved; a launch configuration may not. */
function realPath(file: string): string {
  try {
    return realpathSync(file);
  } catch {
    return path.resolve(file);
  }
}

export class CoreInSource implements vscode.Disposable {
  private client: LanguageClient | undefined;
  private starting: Promise<LanguageClient | undefined> | undefined;
  private readonly state = new CoreSourceState();
  private readonly handled = new Set<string>();
  private readonly output: vscode.OutputChannel;
  private readonly disposables: vscode.Disposable[] = [];

  constructor(
    private readonly sessions: GoCoreSessions,
    private readonly log: vscode.LogOutputChannel,
  ) {
    this.output = vscode.window.createOutputChannel("Go Core Dumps: Source");
    this.disposables.push(
      this.output,
      sessions.onDidChange((info) => this.onSessionChange(info)),
      vscode.debug.onDidTerminateDebugSession((session) => void this.onSessionEnd(session)),
      vscode.commands.registerCommand("goCore.showCoreInSource", () => this.showCommand()),
      vscode.commands.registerCommand("goCore.hideCoreFromSource", () => this.hideAll()),
      vscode.commands.registerCommand("goCore.keepCoreInSource", () => this.pinCurrent()),
      vscode.commands.registerCommand(SHOW_GOROUTINES_COMMAND, (args?: unknown) => this.showGoroutines(args)),
    );
  }

  dispose(): void {
    for (const d of this.disposables) {
      d.dispose();
    }
    void this.stop();
  }

  // --- sessions ----------------------------------------------------------------------------------------

  private onSessionChange(info: SessionInfo | undefined): void {
    if (!info?.stopped || this.handled.has(info.session.id)) {
      return;
    }
    this.handled.add(info.session.id);
    if (!vscode.workspace.getConfiguration("goCore.source").get<boolean>("showOnStop", true)) {
      return;
    }
    void this.showSession(info.session);
  }

  private async showSession(session: vscode.DebugSession): Promise<string | undefined> {
    const args = openCoreArguments(session.configuration as GoCoreLaunchConfig, session.workspaceFolder?.uri.fsPath);
    if (!args) {
      return undefined;
    }
    const core = await this.openCore(args);
    if (core !== undefined) {
      this.state.shown(session.id, core);
      if (vscode.workspace.getConfiguration("goCore.source").get<boolean>("keepAfterSession", false)) {
        this.state.pin(core);
      }
    }
    return core;
  }

  private async onSessionEnd(session: vscode.DebugSession): Promise<void> {
    if (session.type !== DEBUG_TYPE) {
      return;
    }
    this.handled.delete(session.id);
    const core = this.state.sessionEnded(session.id);
    if (core !== undefined) {
      await this.closeCore(core);
    }
  }

  // --- the language server -----------------------------------------------------------------------------

  private async ensureClient(): Promise<LanguageClient | undefined> {
    if (this.client?.isRunning()) {
      return this.client;
    }
    if (this.starting) {
      return this.starting;
    }
    const lookup = findAdapter(adapterInput());
    if (!lookup.found) {
      void showAdapterMissing(lookup);
      return undefined;
    }
    const cwd = vscode.workspace.workspaceFolders?.[0]?.uri.fsPath;
    const serverOptions: ServerOptions = {
      command: lookup.path,
      args: ["lsp"],
      options: { env: process.env, ...(cwd ? { cwd } : {}) },
    };
    const clientOptions: LanguageClientOptions = {
      // Go files anywhere (the standard library's and the module cache's too) and cgo's C files.
      documentSelector: [
        { scheme: "file", language: "go" },
        { scheme: "file", language: "c" },
      ],
      initializationOptions: initializationOptions(),
      outputChannel: this.output,
    };
    const client = new LanguageClient("goCoreSource", "Go Core Dumps: Source", serverOptions, clientOptions);
    this.log.info(`starting the language server: ${lookup.path} lsp`);
    this.starting = client
      .start()
      .then(() => {
        this.client = client;
        return client;
      })
      .catch((error: Error) => {
        this.log.error(`the language server did not start: ${error.message}`);
        void vscode.window.showErrorMessage(`Go Core Dumps: the language server (gocore-dap lsp) did not start: ${error.message}`);
        return undefined;
      })
      .finally(() => {
        this.starting = undefined;
      });
    return this.starting;
  }

  private async openCore(args: Record<string, unknown>): Promise<string | undefined> {
    const client = await this.ensureClient();
    if (!client) {
      return undefined;
    }
    try {
      const summary = (await client.sendRequest(ExecuteCommandRequest.type, { command: LSP_OPEN_CORE, arguments: [args] })) as CoreSummary;
      this.log.info(`source marks: ${summary.core} (${summary.crash ?? ""})`);
      return summary.core;
    } catch (error) {
      // The server has shown the reason (the debugger's error id and text) as a message.
      this.log.warn(`the language server could not open ${String(args.coreFilePath)}: ${(error as Error).message}`);
      await this.stopIfIdle();
      return undefined;
    }
  }

  private async closeCore(core: string): Promise<void> {
    const client = this.client;
    this.state.closed(core);
    if (client?.isRunning()) {
      try {
        await client.sendRequest(ExecuteCommandRequest.type, { command: LSP_CLOSE_CORE, arguments: [core] });
      } catch (error) {
        this.log.info(`closing ${core}: ${(error as Error).message}`);
      }
    }
    await this.stopIfIdle();
  }

  private async stopIfIdle(): Promise<void> {
    const client = this.client;
    if (!client?.isRunning()) {
      return;
    }
    let open = 0;
    try {
      const cores = (await client.sendRequest(ExecuteCommandRequest.type, { command: "gocore.listCores", arguments: [] })) as unknown[];
      open = cores.length;
    } catch {
      open = 0;
    }
    if (this.state.empty(open)) {
      await this.stop();
    }
  }

  private async stop(): Promise<void> {
    const client = this.client;
    this.client = undefined;
    if (client?.needsStop()) {
      this.log.info("stopping the language server");
      await client.stop().catch((error: Error) => this.log.warn(`stopping the language server: ${error.message}`));
    }
  }

  // --- commands ----------------------------------------------------------------------------------------

  /** "Go: Show Core in Source…": the current go-core session's core, else a core and executable to pick. */
  private async showCommand(): Promise<void> {
    const current = this.sessions.current();
    if (current) {
      this.handled.add(current.session.id);
      await this.showSession(current.session);
      return;
    }
    const folder = folderFor(undefined);
    const core = await pickCoreFile(folder?.uri);
    if (!core) {
      return;
    }
    const program = await pickExecutable(core, folder?.uri);
    if (!program) {
      return;
    }
    const opened = await this.openCore({ program, coreFilePath: core, name: `Core: ${path.basename(core)}` });
    if (opened !== undefined) {
      // No session to end with: it stays until "Go: Hide Core from Source".
      this.state.pin(opened);
    }
  }

  private async pinCurrent(): Promise<void> {
    const current = this.sessions.current();
    const core = current ? this.state.coreOf(current.session.id) : undefined;
    if (core === undefined) {
      void vscode.window.showInformationMessage("No core of a Go Core Dump session is shown in the source.");
      return;
    }
    this.state.pin(core);
    void vscode.window.showInformationMessage(`${core} stays in the source after the debug session ends.`);
  }

  private async hideAll(): Promise<void> {
    const client = this.client;
    if (client?.isRunning()) {
      await client.sendRequest(ExecuteCommandRequest.type, { command: LSP_CLOSE_CORE, arguments: [] }).catch(() => undefined);
    }
    this.state.clear();
    await this.stop();
  }

  /** A code lens: the Goroutines view filtered to the function when its session is live, else the places. */
  private async showGoroutines(raw: unknown): Promise<void> {
    const lens = asLensArguments(raw);
    if (!lens) {
      return;
    }
    const current = this.sessions.current();
    if (current && sameCore(GoCoreSessions.configOf(current.session), lens, realPath)) {
      await vscode.commands.executeCommand(FILTER_FUNCTION_COMMAND, lens.function);
      return;
    }
    const client = this.client;
    if (!client?.isRunning()) {
      return;
    }
    const found = (await client.sendRequest(ExecuteCommandRequest.type, { command: LSP_GOROUTINES_IN, arguments: [raw] })) as LspLocation[];
    const locations = found.map((l) => client.protocol2CodeConverter.asLocation(l));
    if (locations.length === 0) {
      return;
    }
    const first = locations[0];
    await vscode.commands.executeCommand("editor.action.showReferences", first.uri, first.range.start, locations);
  }
}
