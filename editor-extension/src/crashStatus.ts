// The crash headline in the status bar while a go-core session is stopped.
import * as vscode from "vscode";
import { crashIcon, statusText } from "./crashInfo";
import { GoCoreSessions, SessionInfo } from "./sessions";

export class CrashStatusBar implements vscode.Disposable {
  private readonly item: vscode.StatusBarItem;
  private readonly subscription: vscode.Disposable;

  constructor(sessions: GoCoreSessions) {
    this.item = vscode.window.createStatusBarItem("goCore.crash", vscode.StatusBarAlignment.Left, 50);
    this.item.name = "Go Core Dump: Crash";
    this.item.command = "goCore.goroutines.showCrashing";
    this.subscription = sessions.onDidChange(() => this.update(sessions.current()));
    this.update(sessions.current());
  }

  private update(info: SessionInfo | undefined): void {
    const crash = info?.crash;
    if (!info || !crash) {
      this.item.hide();
      return;
    }
    // A warning (a truncated core, a Delve release short of the program's Go version) is worth a glance
    // before trusting the views: the hover says what it is.
    this.item.text = `${crashIcon(crash.kind)} ${statusText(crash)}${crash.warnings.length > 0 ? " $(warning)" : ""}`;
    this.item.backgroundColor = new vscode.ThemeColor("statusBarItem.errorBackground");
    const tooltip = new vscode.MarkdownString(
      `${crash.details}\n\n---\n\n[$(error) Show the crashing goroutine](command:goCore.goroutines.showCrashing) · ` +
        `[$(copy) Copy crash report](command:goCore.copyCrashReportMarkdown) · [$(preview) HTML report](command:goCore.openHtmlCrashReport)`,
      true,
    );
    tooltip.isTrusted = { enabledCommands: ["goCore.goroutines.showCrashing", "goCore.copyCrashReportMarkdown", "goCore.openHtmlCrashReport"] };
    this.item.tooltip = tooltip;
    this.item.accessibilityInformation = { label: `Go crash: ${crash.headline}`, role: "button" };
    this.item.show();
  }

  dispose(): void {
    this.subscription.dispose();
    this.item.dispose();
  }
}
