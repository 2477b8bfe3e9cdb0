// Names of files that are probably core dumps or executables. Pure: no vscode import.
// Keep CORE_NAME in step with the explorer/context `when` clause in package.json.

/** core, core.1234, core.server.1000.<boot id>.1234.1700000000000000.zst (systemd-coredump), app.core, app.core.zst */
export const CORE_NAME = /^core$|^core\..+|\.core$|\.core\.(zst|lz4|xz|gz)$/;

export function looksLikeCore(fileName: string): boolean {
  return CORE_NAME.test(fileName);
}

/** Glob for vscode.workspace.findFiles with the same names. */
export const CORE_GLOB = "**/{core,core.*,*.core,*.core.zst,*.core.lz4,*.core.xz,*.core.gz}";

/** Go executables usually have no extension; these never are one. */
const NOT_EXECUTABLE = /\.(go|mod|sum|txt|md|json|ya?ml|toml|sh|py|c|h|s|o|a|so(\.\d+)*|zst|lz4|xz|gz|zip|tar|png|jpe?g|svg|html|css|js|ts|map|lock|log|pem|key|crt)$/i;

export function mayBeExecutableName(fileName: string): boolean {
  return !looksLikeCore(fileName) && !NOT_EXECUTABLE.test(fileName) && !fileName.startsWith(".");
}
