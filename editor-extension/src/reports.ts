// "Copy Crash Report as Markdown" and "Open HTML Crash Report": run `gocore-dap report` on the session's core.
import { execFile } from "node:child_process";
import { promises as fs } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as vscode from "vscode";
import { findAdapter } from "./adapterDiscovery";
import { adapterInput, showAdapterMissing } from "./adapterFactory";
import { GoCoreSessions } from "./sessions";
import { pickCoreFile, pickExecutable, folderFor } from "./pickers";

interface ReportTarget {
  program: string;
  core: string;
  dlvPath?: string;
}

async function target(sessions: GoCoreSessions): Promise<ReportTarget | undefined> {
  const info = sessions.current();
  if (info) {
    const config = GoCoreSessions.configOf(info.session);
    if (config.program && config.coreFilePath) {
      return { program: config.program, core: config.coreFilePath, ...(config.dlvPath ? { dlvPath: config.dlvPath } : {}) };
    }
  }
  const core = await pickCoreFile(folderFor(undefined)?.uri);
  if (!core) {
    return undefined;
  }
  const program = await pickExecutable(core);
  return program ? { program, core } : undefined;
}

function run(command: string, args: string[], env: NodeJS.ProcessEnv, timeoutMs: number, token: vscode.CancellationToken): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile(command, args, { env, timeout: timeoutMs, maxBuffer: 256 << 20, encoding: "utf8" }, (error, stdout, stderr) => {
      if (error) {
        const detail = stderr.trim().split("\n").slice(-8).join("\n");
        reject(new Error(detail || error.message));
      } else {
        resolve(stdout);
      }
    });
    token.onCancellationRequested(() => child.kill());
  });
}

async function report(sessions: GoCoreSessions, format: "markdown" | "html", output?: string): Promise<{ text: string; target: ReportTarget } | undefined> {
  const t = await target(sessions);
  if (!t) {
    return undefined;
  }
  const adapter = findAdapter(adapterInput());
  if (!adapter.found) {
    void showAdapterMissing(adapter);
    return undefined;
  }
  const args = ["report", t.program, t.core, "--format", format, ...(output ? ["--output", output] : []), ...(t.dlvPath ? ["--dlv", t.dlvPath] : [])];
  const env = { ...process.env };
  const timeout = vscode.workspace.getConfiguration("goCore").get<number>("reportTimeoutSeconds", 120) * 1000;
  try {
    const text = await vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: `Writing the crash report of ${path.basename(t.core)}…`, cancellable: true },
      (_progress, token) => run(adapter.path, args, env, timeout, token),
    );
    return { text, target: t };
  } catch (error) {
    void vscode.window.showErrorMessage(`gocore-dap report failed: ${(error as Error).message}`);
    return undefined;
  }
}

export async function copyMarkdownReport(sessions: GoCoreSessions): Promise<void> {
  const result = await report(sessions, "markdown");
  if (!result) {
    return;
  }
  await vscode.env.clipboard.writeText(result.text);
  const show = "Show";
  const lines = result.text.split("\n").length;
  const choice = await vscode.window.showInformationMessage(`Crash report of ${path.basename(result.target.core)} copied as Markdown (${lines} lines).`, show);
  if (choice === show) {
    const doc = await vscode.workspace.openTextDocument({ content: result.text, language: "markdown" });
    await vscode.window.showTextDocument(doc, { preview: true });
  }
}

/**
 * The report's own HTML in a webview (works in remote and browser VS Code alike). The report is a single
 * self-contained file (inline style and script, no network); this policy keeps it so whatever it holds.
 */
function webviewHtml(html: string): string {
  const csp = `<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:; font-src data:;">`;
  return /<head[^>]*>/i.test(html) ? html.replace(/<head[^>]*>/i, (m) => `${m}\n${csp}`) : `${csp}\n${html}`;
}

export async function openHtmlReport(sessions: GoCoreSessions): Promise<void> {
  const file = path.join(os.tmpdir(), `gocore-dap-report-${process.pid}-${Date.now()}.html`);
  const result = await report(sessions, "html", file);
  if (!result) {
    return;
  }
  let html: string;
  try {
    html = await fs.readFile(file, "utf8");
  } catch {
    // A report command that printed the HTML instead of writing --output.
    html = result.text;
    await fs.writeFile(file, html, "utf8");
  }
  const panel = vscode.window.createWebviewPanel("goCore.report", `Crash report: ${path.basename(result.target.core)}`, vscode.ViewColumn.Active, {
    enableScripts: true,
    enableFindWidget: true,
  });
  panel.webview.html = webviewHtml(html);
  const browser = "Open in Browser";
  void vscode.window.showInformationMessage(`HTML crash report written to ${file}`, browser).then((choice) => {
    if (choice === browser) {
      void vscode.env.openExternal(vscode.Uri.file(file));
    }
  });
}
