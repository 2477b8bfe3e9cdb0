// Asking for a core dump and for the executable that wrote it.
import * as path from "node:path";
import { promises as fs } from "node:fs";
import * as vscode from "vscode";
import { CoreInfo, ElfInfo, sniffFile } from "./elfCore";
import { mayBeExecutableName } from "./coreNames";

const SEARCH_EXCLUDE = "{**/node_modules/**,**/.git/**,**/.venv/**,**/vendor/**,**/.cache/**}";
const MAX_WORKSPACE_FILES = 3000;
const MAX_EXECUTABLES = 30;

export async function pickCoreFile(defaultFolder?: vscode.Uri): Promise<string | undefined> {
  const picked = await vscode.window.showOpenDialog({
    title: "Select a Go core dump",
    openLabel: "Open Core Dump",
    canSelectFiles: true,
    canSelectFolders: false,
    canSelectMany: false,
    ...(defaultFolder ? { defaultUri: defaultFolder } : {}),
  });
  return picked?.[0]?.fsPath;
}

export async function browseForExecutable(defaultFolder?: vscode.Uri): Promise<string | undefined> {
  const picked = await vscode.window.showOpenDialog({
    title: "Select the Go executable that crashed",
    openLabel: "Use This Executable",
    canSelectFiles: true,
    canSelectFolders: false,
    canSelectMany: false,
    ...(defaultFolder ? { defaultUri: defaultFolder } : {}),
  });
  return picked?.[0]?.fsPath;
}

/** What the core says about its executable, or undefined for a compressed or unreadable core. */
export async function coreInfoOf(corePath: string): Promise<CoreInfo | undefined> {
  try {
    const sniff = await sniffFile(corePath);
    return sniff.format === "elf" ? sniff.info.core : undefined;
  } catch {
    return undefined;
  }
}

async function elfExecutable(file: string): Promise<ElfInfo | undefined> {
  try {
    const stat = await fs.stat(file);
    if (!stat.isFile() || (stat.mode & 0o111) === 0) {
      return undefined;
    }
    const sniff = await sniffFile(file);
    return sniff.format === "elf" && sniff.info.kind === "executable" ? sniff.info : undefined;
  } catch {
    return undefined;
  }
}

interface ExecutableItem extends vscode.QuickPickItem {
  file?: string;
  browse?: boolean;
}

/** Executables near the core and in the workspace, those named like the core's executable first. */
async function candidateExecutables(corePath: string, core: CoreInfo | undefined, token: vscode.CancellationToken): Promise<string[]> {
  const wanted = new Set<string>();
  if (core?.executablePath) {
    wanted.add(path.basename(core.executablePath));
  }
  const files = new Set<string>();
  // The core's own folder: cores are often copied next to the binary.
  try {
    const dir = path.dirname(corePath);
    for (const name of await fs.readdir(dir)) {
      if (mayBeExecutableName(name)) {
        files.add(path.join(dir, name));
      }
    }
  } catch {
    // an unreadable folder just has no candidates
  }
  for (const name of wanted) {
    for (const uri of await vscode.workspace.findFiles(`**/${name}`, SEARCH_EXCLUDE, 50, token)) {
      files.add(uri.fsPath);
    }
  }
  if (!token.isCancellationRequested) {
    for (const uri of await vscode.workspace.findFiles("**/*", SEARCH_EXCLUDE, MAX_WORKSPACE_FILES, token)) {
      if (mayBeExecutableName(path.basename(uri.fsPath))) {
        files.add(uri.fsPath);
      }
    }
  }
  const sorted = [...files].sort((a, b) => {
    const wa = wanted.has(path.basename(a)) ? 0 : 1;
    const wb = wanted.has(path.basename(b)) ? 0 : 1;
    return wa - wb || a.localeCompare(b);
  });
  const out: string[] = [];
  for (const file of sorted) {
    if (out.length >= MAX_EXECUTABLES || token.isCancellationRequested) {
      break;
    }
    if (await elfExecutable(file)) {
      out.push(file);
    }
  }
  return out;
}

/**
 * Asks which executable wrote the core: the one named in the core (when it exists here) first, then
 * executables next to the core and in the workspace, then "Browse…". The list fills in while the
 * workspace is searched, so the first choice is there at once.
 */
export async function pickExecutable(corePath: string, defaultFolder?: vscode.Uri): Promise<string | undefined> {
  const core = await coreInfoOf(corePath);
  const named = core?.executablePath;
  const browse: ExecutableItem = { label: "$(folder-opened) Browse…", browse: true, alwaysShow: true };
  const items: ExecutableItem[] = [];
  if (named && (await elfExecutable(named))) {
    items.push({
      label: `$(file-binary) ${path.basename(named)}`,
      description: "named in the core",
      detail: named,
      file: named,
    });
  }

  const quickPick = vscode.window.createQuickPick<ExecutableItem>();
  quickPick.title = `Executable for ${path.basename(corePath)}`;
  quickPick.placeholder = named
    ? `The core was written by ${named}${core?.processName ? ` (${core.processName})` : ""}`
    : "Select the Go executable that crashed (exactly that build)";
  quickPick.matchOnDetail = true;
  quickPick.items = [...items, browse];
  quickPick.busy = true;
  const search = new vscode.CancellationTokenSource();

  const found = candidateExecutables(corePath, core, search.token).then((files) => {
    const known = new Set(items.map((i) => i.file));
    for (const file of files) {
      if (known.has(file)) {
        continue;
      }
      const sameName = named !== undefined && path.basename(file) === path.basename(named);
      items.push({
        label: `$(file-binary) ${path.basename(file)}`,
        description: sameName ? "same name as in the core" : vscode.workspace.asRelativePath(path.dirname(file)),
        detail: file,
        file,
      });
    }
    if (!search.token.isCancellationRequested) {
      const active = quickPick.activeItems;
      quickPick.items = [...items, browse];
      if (active.length > 0 && active[0].file) {
        const again = quickPick.items.find((i) => i.file === active[0].file);
        if (again) {
          quickPick.activeItems = [again];
        }
      }
      quickPick.busy = false;
    }
  });
  found.catch(() => {
    quickPick.busy = false;
  });

  const choice = await new Promise<ExecutableItem | undefined>((resolve) => {
    quickPick.onDidAccept(() => resolve(quickPick.selectedItems[0] ?? quickPick.activeItems[0]));
    quickPick.onDidHide(() => resolve(undefined));
    quickPick.show();
  });
  search.cancel();
  quickPick.dispose();
  if (!choice) {
    return undefined;
  }
  if (choice.browse) {
    return browseForExecutable(defaultFolder ?? vscode.Uri.file(path.dirname(corePath)));
  }
  return choice.file;
}

/** The workspace folder that holds a file, else the first one. */
export function folderFor(file: string | undefined): vscode.WorkspaceFolder | undefined {
  if (file) {
    const folder = vscode.workspace.getWorkspaceFolder(vscode.Uri.file(file));
    if (folder) {
      return folder;
    }
  }
  return vscode.workspace.workspaceFolders?.[0];
}
