// Completes and checks a go-core launch configuration before the session starts.
import * as path from "node:path";
import * as vscode from "vscode";
import { findAdapter } from "./adapterDiscovery";
import { showAdapterMissing, adapterInput } from "./adapterFactory";
import { CORE_GLOB } from "./coreNames";
import type { GoCoreLaunchConfig } from "./goProtocol";
import { checkFiles, checkShape, DEBUG_TYPE, gatherFacts, missingFields, Problem, withDefaults, absolutize } from "./launchConfig";
import { coreInfoOf, folderFor, pickCoreFile, pickExecutable } from "./pickers";

export class GoCoreConfigurationProvider implements vscode.DebugConfigurationProvider {
  provideDebugConfigurations(): vscode.ProviderResult<vscode.DebugConfiguration[]> {
    return [
      {
        name: "Open Go core dump",
        type: DEBUG_TYPE,
        request: "launch",
        program: "${workspaceFolder}/bin/server",
        coreFilePath: "${workspaceFolder}/core",
      },
    ];
  }

  resolveDebugConfiguration(_folder: vscode.WorkspaceFolder | undefined, config: vscode.DebugConfiguration): vscode.DebugConfiguration {
    // F5 without a launch.json gives an empty configuration: it becomes one that asks for the files.
    return withDefaults(config as GoCoreLaunchConfig) as vscode.DebugConfiguration;
  }

  async resolveDebugConfigurationWithSubstitutedVariables(
    folder: vscode.WorkspaceFolder | undefined,
    debugConfiguration: vscode.DebugConfiguration,
  ): Promise<vscode.DebugConfiguration | undefined | null> {
    let config = absolutize(debugConfiguration as GoCoreLaunchConfig, folder?.uri.fsPath);
    const shape = checkShape(config);
    if (shape.length > 0) {
      return reportProblems(shape);
    }
    for (const field of missingFields(config)) {
      if (field === "coreFilePath") {
        const core = await pickCoreFile(folder?.uri);
        if (!core) {
          return undefined;
        }
        config = { ...config, coreFilePath: core };
      } else {
        const program = await pickExecutable(config.coreFilePath as string, folder?.uri);
        if (!program) {
          return undefined;
        }
        config = { ...config, program };
      }
    }

    for (;;) {
      const problems = checkFiles(config, await gatherFacts(config));
      const errors = problems.filter((p) => p.severity === "error");
      if (errors.length > 0) {
        return reportProblems(errors);
      }
      const warnings = problems.filter((p) => p.severity === "warning");
      if (warnings.length === 0) {
        break;
      }
      const another = "Choose Another Executable";
      const choice = await vscode.window.showWarningMessage(
        warnings.map((w) => w.message).join("\n"),
        { modal: true, detail: "Delve cannot read a core with a different build of the program." },
        "Continue Anyway",
        another,
      );
      if (choice === undefined) {
        return undefined;
      }
      if (choice !== another) {
        break;
      }
      const program = await pickExecutable(config.coreFilePath as string, folder?.uri);
      if (!program) {
        return undefined;
      }
      config = { ...config, program };
    }

    const adapter = findAdapter(adapterInput());
    if (!adapter.found) {
      void showAdapterMissing(adapter);
      return undefined;
    }
    return config as vscode.DebugConfiguration;
  }
}

async function reportProblems(problems: Problem[]): Promise<undefined | null> {
  const open = "Open launch.json";
  const message = problems.length === 1 ? problems[0].message : problems.map((p) => `• ${p.message}`).join("\n");
  const choice = await vscode.window.showErrorMessage(`Go core dump: ${message}`, open);
  // null (not undefined) makes VS Code open launch.json.
  return choice === open ? null : undefined;
}

/** One configuration per core dump found in the workspace, for the "Run and Debug" dropdown (dynamic configurations). */
export class GoCoreDynamicConfigurationProvider implements vscode.DebugConfigurationProvider {
  async provideDebugConfigurations(folder: vscode.WorkspaceFolder | undefined, token?: vscode.CancellationToken): Promise<vscode.DebugConfiguration[]> {
    const pattern = folder ? new vscode.RelativePattern(folder, CORE_GLOB) : CORE_GLOB;
    const cores = await vscode.workspace.findFiles(pattern, "{**/node_modules/**,**/.git/**}", 10, token);
    const configs: vscode.DebugConfiguration[] = [];
    for (const uri of cores) {
      const info = await coreInfoOf(uri.fsPath);
      const exe = info?.executablePath;
      const config: vscode.DebugConfiguration = {
        name: `Core: ${vscode.workspace.asRelativePath(uri)}${exe ? ` (${path.basename(exe)})` : ""}`,
        type: DEBUG_TYPE,
        request: "launch",
        coreFilePath: uri.fsPath,
      };
      configs.push(config);
    }
    if (configs.length === 0) {
      configs.push({ name: "Open a Go core dump…", type: DEBUG_TYPE, request: "launch" });
    }
    return configs;
  }
}

export { folderFor };
