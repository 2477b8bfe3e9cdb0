"""Whose code a frame runs: the program's own ("your code"), a library's, the runtime's, or generated (pure).

A Go developer reading a crash looks for their own lines. Delve's "user" frame means "not runtime", so
`sync.(*Mutex).Lock` and `encoding/json.(*decodeState).object` count as user frames there; here "your
code" comes from the build itself: the binary's build info names the main module and the dependency
modules, and a frame's package path (from its function name) says which one it belongs to.

Kinds (`CodeKind`), decided from the function name first and the file where the name says nothing:

* `mainModule`: package `main` or a package of the main module; C code compiled from the program's own
  sources (the cgo preamble of a `.go` file, a `.c` file next to it).
* `dependency`: a package of another module (not the standard library), or C code of such a package
  (its files sit in the module cache, `.../pkg/mod/...`, or `vendor/`).
* `standardLibrary`: any other package (no dot in the first path element), `vendor/...` included.
* `runtime`: the runtime's own frames, as `frames.is_runtime_internal` defines them (package `runtime`,
  `internal/...`, `runtime/internal/...`, the printed `panic`), plus `runtime/cgo` and its C glue
  (`crosscall2`, `x_cgo_*`, files under `runtime/cgo/`).
* `cgoGenerated`: what cgo writes for each C call: `main._Cfunc_f` (in `_cgo_gotypes.go`),
  `_cgo_<hash>_Cfunc_f` (in `cgo-gcc-prolog`), `_cgoexp_...`, `_Cgo_ptr`... Their files exist on no disk.
* `generated`: other compiler-generated code with no source of its own (`type:.eq.main.T`).
* `foreign`: C code with no source in the program: the C library and other shared objects (no file, or
  a file under /usr/include, /usr/lib, ...).
* `unknown`: a frame without a function (an unwinding artefact).

`YourCode` is the user's scope (launch attribute and report flag `yourCode`): `mainModule` (only the
main module), `modules` (the default: the main module and its non-standard-library dependencies) or
`nonRuntime` (everything but the runtime, generated code and foreign C: Delve's notion, for whoever wants
the standard library's frames to count as theirs).

Without build info (rare: a binary whose `.go.buildinfo` could not be read) the main module is package
`main` only and every package whose first path element has a dot is a dependency.

Pure: stdlib and attrs only (plus the other goviews modules).
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Sequence
from typing import Protocol

import attrs

from gocore_dap.goviews.build_info import BuildInfo
from gocore_dap.goviews.frames import is_runtime_internal, package_path

__all__ = [
    "DEFAULT_YOUR_CODE",
    "CodeKind",
    "CodeScope",
    "SourceFrame",
    "YourCode",
    "has_source",
    "is_c_function",
    "is_cgo_generated_file",
    "parse_your_code",
]


class SourceFrame(Protocol):
    """What the pure functions need of a frame: `goviews.goroutine_info.GoLocation`,
    `goviews.crash.CrashFrame` and `report.model.ReportFrame` all have it."""

    @property
    def function(self) -> str: ...

    @property
    def file(self) -> str: ...

    @property
    def line(self) -> int: ...


class CodeKind(enum.StrEnum):
    MAIN_MODULE = "mainModule"
    DEPENDENCY = "dependency"
    STANDARD_LIBRARY = "standardLibrary"
    RUNTIME = "runtime"
    CGO_GENERATED = "cgoGenerated"
    GENERATED = "generated"
    FOREIGN = "foreign"
    UNKNOWN = "unknown"


class YourCode(enum.StrEnum):
    MAIN_MODULE = "mainModule"
    MODULES = "modules"
    NON_RUNTIME = "nonRuntime"


DEFAULT_YOUR_CODE = YourCode.MODULES

_YOURS: dict[YourCode, frozenset[CodeKind]] = {
    YourCode.MAIN_MODULE: frozenset({CodeKind.MAIN_MODULE}),
    YourCode.MODULES: frozenset({CodeKind.MAIN_MODULE, CodeKind.DEPENDENCY}),
    YourCode.NON_RUNTIME: frozenset({CodeKind.MAIN_MODULE, CodeKind.DEPENDENCY, CodeKind.STANDARD_LIBRARY}),
}

# Kinds that are real code somebody wrote and can read, though perhaps not the user.
_SOURCE_KINDS = frozenset({CodeKind.MAIN_MODULE, CodeKind.DEPENDENCY, CodeKind.STANDARD_LIBRARY})

# Base names of the files cgo generates (cmd/cgo out.go): they exist only in the build's work directory.
_CGO_FILES = frozenset(
    {"_cgo_gotypes.go", "cgo-gcc-prolog", "cgo-generated-wrappers", "cgo-builtin-prolog", "_cgo_export.c",
     "_cgo_export.h", "_cgo_main.c", "_cgo_flags", "_cgo_import.go"}
)  # fmt: skip
# The symbol (after the package) of Go functions cgo generates: wrappers of C calls and of exports.
_CGO_SYMBOL_PREFIXES = ("_Cfunc_", "_cgo", "_Cgo", "_Cmacro_", "_Cvar_", "_C2func_")
# runtime/cgo's C glue (gcc_*.c): it starts threads and crosses between Go and C.
_CGO_RUNTIME_C = ("crosscall", "x_cgo_", "_cgo_", "threadentry")
# Where C code that is no program's own source lives.
_SYSTEM_C_DIRS = ("/usr/include/", "/usr/lib/", "/usr/local/include/", "/lib/", "/lib64/", "/usr/src/")


def parse_your_code(value: object) -> YourCode:
    """`"mainModule"`, `"modules"` or `"nonRuntime"` (also accepted in kebab case, `main-module`, for a
    command-line flag); ValueError with the accepted values otherwise."""
    if isinstance(value, YourCode):
        return value
    if isinstance(value, str):
        key = value.strip()
        for choice in YourCode:
            if key == choice.value or key == _kebab(choice.value):
                return choice
    allowed = ", ".join(f'"{c.value}"' for c in YourCode)
    raise ValueError(f"yourCode must be one of {allowed}, got {value!r}")


def _kebab(camel: str) -> str:
    return "".join(f"-{ch.lower()}" if ch.isupper() else ch for ch in camel)


def _base(file: str) -> str:
    return file.rsplit("/", 1)[-1]


def is_cgo_generated_file(file: str) -> bool:
    """A file cgo generated (it exists on no disk): `_cgo_gotypes.go`, `cgo-gcc-prolog`, `x.cgo1.go`..."""
    if not file:
        return False
    base = _base(file)
    return base in _CGO_FILES or base.endswith((".cgo1.go", ".cgo2.c")) or base.startswith("_cgo_")


def is_c_function(function: str) -> bool:
    """A C function's name as Delve shows it: no Go package (`lookup`), or Delve's `C.` prefix (`C.find`)."""
    if not function or function == "panic":
        return False
    if function.startswith("C."):
        return True
    return package_path(function) is None


def _c_symbol(function: str) -> str:
    return function[2:] if function.startswith("C.") else function


# Classifications kept per scope: a core's frames repeat the same few thousand functions.
_CACHE_LIMIT = 1 << 16


@attrs.frozen
class CodeScope:
    """Which frames are "your code" for one binary: build its modules once, classify many frames."""

    your_code: YourCode = DEFAULT_YOUR_CODE
    main_module: str = ""
    dependencies: tuple[str, ...] = ()  # module paths
    has_build_info: bool = False
    # Module path -> kind, for a lookup per prefix of a package path instead of a scan of every module.
    _modules: dict[str, CodeKind] = attrs.field(init=False, eq=False, repr=False, hash=False)
    _cache: dict[tuple[str, str], CodeKind] = attrs.field(init=False, eq=False, repr=False, hash=False)

    def __attrs_post_init__(self) -> None:
        modules = {path: CodeKind.DEPENDENCY for path in self.dependencies if path}
        if self.main_module:
            modules[self.main_module] = CodeKind.MAIN_MODULE
        object.__setattr__(self, "_modules", modules)
        object.__setattr__(self, "_cache", {})

    @classmethod
    def from_build_info(cls, info: BuildInfo | None, your_code: YourCode | str = DEFAULT_YOUR_CODE) -> CodeScope:
        scope = parse_your_code(your_code)
        if info is None or not (info.main_module_path or info.dependencies or info.path):
            return cls(your_code=scope)
        deps = tuple(sorted({path for path, _ in info.dependencies if path}))
        return cls(your_code=scope, main_module=info.main_module_path, dependencies=deps, has_build_info=True)

    def with_your_code(self, your_code: YourCode | str) -> CodeScope:
        return attrs.evolve(self, your_code=parse_your_code(your_code))

    # -- classification ---------------------------------------------------------------------------------

    def classify(self, function: str, file: str = "") -> CodeKind:
        """The kind of code a frame runs (see the module docstring)."""
        key = (function, file)
        kind = self._cache.get(key)
        if kind is None:
            if len(self._cache) >= _CACHE_LIMIT:
                self._cache.clear()
            kind = self._cache[key] = self._classify(function, file)
        return kind

    def _classify(self, function: str, file: str) -> CodeKind:
        if not function:
            return CodeKind.UNKNOWN
        if function.startswith("type:") or function.startswith("type.."):
            return CodeKind.GENERATED
        if is_c_function(function):
            return self._classify_c(_c_symbol(function), file)
        package = package_path(function)
        if is_runtime_internal(function):
            return CodeKind.RUNTIME
        assert package is not None  # is_c_function covers names without a package
        symbol = function[len(package) + 1 :]
        if symbol.startswith(_CGO_SYMBOL_PREFIXES) or is_cgo_generated_file(file):
            return CodeKind.CGO_GENERATED
        if package == "runtime/cgo" or package.startswith("runtime/"):
            # runtime/cgo, runtime/pprof, runtime/debug...: the standard library, but runtime/cgo only
            # crosses between Go and C and is never where a reader looks.
            return CodeKind.RUNTIME if package == "runtime/cgo" else CodeKind.STANDARD_LIBRARY
        return self._classify_package(package)

    def _classify_package(self, package: str) -> CodeKind:
        # The linker escapes dots in a symbol's last path element (`gopkg.in/yaml%2ev3.Unmarshal`).
        package = package.replace("%2e", ".")
        if package == "main":
            return CodeKind.MAIN_MODULE
        # The longest module path that is the package or a parent of it (a nested module wins).
        prefix = package
        while prefix:
            kind = self._modules.get(prefix)
            if kind is not None:
                return kind
            cut = prefix.rfind("/")
            if cut < 0:
                break
            prefix = prefix[:cut]
        if "." in package.split("/", 1)[0]:
            # Not in the build info's list (or no build info): a dotted path is never the standard library.
            return CodeKind.DEPENDENCY
        return CodeKind.STANDARD_LIBRARY

    def _classify_c(self, symbol: str, file: str) -> CodeKind:
        if is_cgo_generated_file(file) or (symbol.startswith("_cgo_") and "_Cfunc_" in symbol):
            return CodeKind.CGO_GENERATED
        if "/runtime/cgo/" in file or file.startswith("runtime/cgo/") or symbol.startswith(_CGO_RUNTIME_C):
            return CodeKind.RUNTIME
        if not file or file == "?" or file.startswith(_SYSTEM_C_DIRS):
            return CodeKind.FOREIGN
        directories = file.split("/")[:-1]
        # The module cache (`.../pkg/mod/example.com/dep@v1.2.3/x.c`, or `example.com/dep@v1.2.3/x.c`
        # under -trimpath) and vendor/ hold other modules' sources; any other file is the program's.
        if "/pkg/mod/" in file or "vendor" in directories or any("@" in part for part in directories):
            return CodeKind.DEPENDENCY
        return CodeKind.MAIN_MODULE

    def first_yours(self, functions: Sequence[str], files: Sequence[str] = ()) -> int | None:
        """Index of the first frame, innermost first, of your code (`files` are needed for C code)."""
        for index, function in enumerate(functions):
            if self.is_yours(function, files[index] if index < len(files) else ""):
                return index
        return None

    def is_yours(self, function: str, file: str = "") -> bool:
        return self.classify(function, file) in _YOURS[self.your_code]

    def kind_is_yours(self, kind: CodeKind) -> bool:
        return kind in _YOURS[self.your_code]

    def kinds(self, frames: Iterable[SourceFrame]) -> list[CodeKind]:
        return [self.classify(f.function, f.file) for f in frames]


def has_source(kind: CodeKind) -> bool:
    """Code somebody wrote and can read (yours or a library's), as opposed to the runtime's machinery,
    generated wrappers, foreign C without source and unwinding artefacts."""
    return kind in _SOURCE_KINDS
