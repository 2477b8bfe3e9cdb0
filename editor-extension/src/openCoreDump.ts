// "Go: Open Core Dump…": pick the core, then its executable, and start a session without any launch.json.
import * as path from "node:path";
import * as vscode from "vscode";
import type { GoCoreLaunchConfig } from "./goProtocol";
import { DEBUG_TYPE } from "./launchConfig";
import { folderFor, pickCoreFile, pickExecutable } from "./pickers";

export async function openCoreDump(resource?: vscode.Uri): Promise<boolean> {
  const folder = folderFor(resource?.fsPath);
  const core = resource?.scheme === "file" ? resource.fsPath : await pickCoreFile(folder?.uri);
  if (!core) {
    return false;
  }
  const program = await pickExecutable(core, folder?.uri);
  if (!program) {
    return false;
  }
  const config: GoCoreLaunchConfig = {
    type: DEBUG_TYPE,
    request: "launch",
    name: `Core: ${path.basename(core)} (${path.basename(program)})`,
    program,
    coreFilePath: core,
  };
  // The configuration provider still checks the files and finds the adapter before the session starts.
  return vscode.debug.startDebugging(folderFor(core), config as vscode.DebugConfiguration);
}
