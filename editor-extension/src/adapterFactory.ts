// Starts gocore-dap for a go-core session.
import * as vscode from "vscode";
import { AdapterMissing, DiscoveryInput, findAdapter } from "./adapterDiscovery";
import { AdapterProcessProxy } from "./adapterProxy";
import type { GoCoreSessions } from "./sessions";

export function adapterInput(): DiscoveryInput {
  return {
    setting: vscode.workspace.getConfiguration("goCore").get<string>("adapterPath", ""),
    env: process.env,
    workspaceFolders: (vscode.workspace.workspaceFolders ?? []).map((f) => f.uri.fsPath),
  };
}

let lastWarning = 0;

export async function showAdapterMissing(missing: AdapterMissing): Promise<void> {
  // Resolve and the factory can both notice; one notification is enough.
  if (Date.now() - lastWarning < 2000) {
    return;
  }
  lastWarning = Date.now();
  const settings = "Open Settings";
  const copy = "Copy Install Command";
  const choice = await vscode.window.showErrorMessage(`${missing.problem} ${missing.fix}`, settings, copy);
  if (choice === settings) {
    await vscode.commands.executeCommand("workbench.action.openSettings", "goCore.adapterPath");
  } else if (choice === copy) {
    await vscode.env.clipboard.writeText("pip install gocore-dap && gocore-dap install-delve");
  }
}

export class GoCoreAdapterFactory implements vscode.DebugAdapterDescriptorFactory {
  constructor(
    private readonly sessions: GoCoreSessions,
    private readonly log: vscode.LogOutputChannel,
  ) {}

  createDebugAdapterDescriptor(session: vscode.DebugSession): vscode.ProviderResult<vscode.DebugAdapterDescriptor> {
    const lookup = findAdapter(adapterInput());
    if (!lookup.found) {
      void showAdapterMissing(lookup);
      throw new Error(`${lookup.problem} Looked in: ${lookup.searched.join(", ")}`);
    }
    this.log.info(`session "${session.name}": starting ${lookup.path} (found via ${lookup.source})`);
    const cwd = session.workspaceFolder?.uri.fsPath;
    const proxy = new AdapterProcessProxy({
      command: lookup.path,
      args: [],
      spawnOptions: { env: process.env, ...(cwd ? { cwd } : {}) },
      log: (line) => this.log.info(`[gocore-dap] ${line}`),
    });
    this.sessions.registerProxy(session.id, proxy);
    return new vscode.DebugAdapterInlineImplementation(proxy);
  }
}
