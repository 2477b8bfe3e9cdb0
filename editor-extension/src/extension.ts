// gocore-dap for VS Code: the go-core debugger, "Go: Open Core Dump…", the Goroutines view, the crash
// headline and the crash in the source (the language server). Pure logic lives in modules without a vscode import (unit-tested with node --test).
import * as vscode from "vscode";
import { GoCoreAdapterFactory } from "./adapterFactory";
import { GoCoreConfigurationProvider, GoCoreDynamicConfigurationProvider } from "./configProvider";
import { CoreInSource } from "./coreSourceClient";
import { CrashStatusBar } from "./crashStatus";
import { GoroutinesView } from "./goroutinesView";
import { DEBUG_TYPE } from "./launchConfig";
import { openCoreDump } from "./openCoreDump";
import { copyMarkdownReport, openHtmlReport } from "./reports";
import { GoCoreSessions } from "./sessions";

export interface GoCoreApi {
  sessions: GoCoreSessions;
}

export function activate(context: vscode.ExtensionContext): GoCoreApi {
  const log = vscode.window.createOutputChannel("Go Core Dumps", { log: true });
  const sessions = new GoCoreSessions(log);
  context.subscriptions.push(
    log,
    sessions,
    vscode.debug.registerDebugConfigurationProvider(DEBUG_TYPE, new GoCoreConfigurationProvider()),
    vscode.debug.registerDebugConfigurationProvider(
      DEBUG_TYPE,
      new GoCoreDynamicConfigurationProvider(),
      vscode.DebugConfigurationProviderTriggerKind.Dynamic,
    ),
    vscode.debug.registerDebugAdapterDescriptorFactory(DEBUG_TYPE, new GoCoreAdapterFactory(sessions, log)),
    new GoroutinesView(sessions, context, log),
    new CrashStatusBar(sessions),
    new CoreInSource(sessions, log),
    vscode.commands.registerCommand("goCore.openCoreDump", (resource?: vscode.Uri) => openCoreDump(resource)),
    vscode.commands.registerCommand("goCore.copyCrashReportMarkdown", () => copyMarkdownReport(sessions)),
    vscode.commands.registerCommand("goCore.openHtmlCrashReport", () => openHtmlReport(sessions)),
  );
  return { sessions };
}

export function deactivate(): void {
  // Everything is in context.subscriptions.
}
