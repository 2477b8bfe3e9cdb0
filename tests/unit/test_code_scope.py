"""goviews.code_scope: whose code a frame runs, on names and files as Delve and the runtime give them."""

from __future__ import annotations

import pytest

from gocore_dap.goviews.build_info import BuildInfo, parse_modinfo
from gocore_dap.goviews.code_scope import (
    CodeKind,
    CodeScope,
    YourCode,
    is_c_function,
    is_cgo_generated_file,
    parse_your_code,
)

MODINFO = "\n".join(
    [
        "path\texample.com/shop/cmd/api",
        "mod\texample.com/shop\t(devel)\t",
        "dep\tgithub.com/acme/cache\tv1.4.0\th1:abc=",
        "dep\tgithub.com/acme/cache/v2\tv2.0.1\th1:def=",
        "dep\tgolang.org/x/sync\tv0.7.0\th1:ghi=",
        "dep\tgopkg.in/yaml.v3\tv3.0.1\th1:jkl=",
        "build\t-compiler=gc",
    ]
)
INFO = parse_modinfo(MODINFO, "go1.26.8")
SCOPE = CodeScope.from_build_info(INFO)

K = CodeKind


@pytest.mark.parametrize(
    ("function", "file", "kind"),
    [
        # The main module: package main, its own packages, closures, methods, generics.
        ("main.main", "/src/shop/cmd/api/main.go", K.MAIN_MODULE),
        ("main.(*server).handle.func2", "/src/shop/cmd/api/server.go", K.MAIN_MODULE),
        ("main.main.gowrap3", "/src/shop/cmd/api/main.go", K.MAIN_MODULE),
        ("example.com/shop/internal/orders.(*Store).Put", "/src/shop/internal/orders/store.go", K.MAIN_MODULE),
        ("example.com/shop.Version", "/src/shop/version.go", K.MAIN_MODULE),
        ("main.(*Cache[go.shape.string,go.shape.struct { X int; Y int }]).Put", "/src/main.go", K.MAIN_MODULE),
        ("example.com/shop/internal/orders.Map[go.shape.*uint8,example.com/x.T]", "/src/m.go", K.MAIN_MODULE),
        # Dependencies: the longest module wins (cache/v2 is a module of its own).
        ("github.com/acme/cache.(*LRU).Get", "/root/go/pkg/mod/github.com/acme/cache@v1.4.0/lru.go", K.DEPENDENCY),
        ("github.com/acme/cache/v2/shard.Get", "/root/go/pkg/mod/github.com/acme/cache/v2@v2.0.1/s.go", K.DEPENDENCY),
        ("golang.org/x/sync/errgroup.(*Group).Wait", "", K.DEPENDENCY),
        # The linker escapes dots in the last path element of a symbol.
        ("gopkg.in/yaml%2ev3.unmarshal", "", K.DEPENDENCY),
        # A dotted path the build info does not list is still no standard library package.
        ("example.org/unlisted.F", "", K.DEPENDENCY),
        # The standard library, vendored packages of the standard library included.
        ("sync.(*Mutex).Lock", "/usr/local/go/src/sync/mutex.go", K.STANDARD_LIBRARY),
        ("encoding/json.(*decodeState).object", "/usr/local/go/src/encoding/json/decode.go", K.STANDARD_LIBRARY),
        ("time.Sleep", "/usr/local/go/src/runtime/time.go", K.STANDARD_LIBRARY),
        ("vendor/golang.org/x/net/dns/dnsmessage.(*Parser).Question", "", K.STANDARD_LIBRARY),
        ("runtime/pprof.Do", "/usr/local/go/src/runtime/pprof/runtime.go", K.STANDARD_LIBRARY),
        ("slices.SortFunc[go.shape.[]uint8,go.shape.func(...)]", "", K.STANDARD_LIBRARY),
        # The runtime, as frames.is_runtime_internal says, plus runtime/cgo.
        ("runtime.gopark", "/usr/local/go/src/runtime/proc.go", K.RUNTIME),
        ("panic", "/usr/local/go/src/runtime/panic.go", K.RUNTIME),
        ("internal/sync.(*Mutex).lockSlow", "", K.RUNTIME),
        ("internal/poll.(*FD).Read", "", K.RUNTIME),
        ("runtime/internal/atomic.Load", "", K.RUNTIME),
        ("runtime/cgo.(*Handle).Value", "", K.RUNTIME),
        ("runtime.cgocall", "/usr/local/go/src/runtime/cgocall.go", K.RUNTIME),
        # What cgo generates around every C call.
        ("main._Cfunc_checksum", "_cgo_gotypes.go", K.CGO_GENERATED),
        ("C._cgo_97b76b311f27_Cfunc_checksum", "/tmp/go-build/cgo-gcc-prolog", K.CGO_GENERATED),
        ("_cgo_97b76b311f27_Cfunc_find", "", K.CGO_GENERATED),
        ("main._cgoexp_1f2e3d_OnEvent", "_cgo_gotypes.go", K.CGO_GENERATED),
        ("main._Cgo_ptr", "_cgo_gotypes.go", K.CGO_GENERATED),
        ("example.com/shop/native._Cfunc_GoString", "_cgo_gotypes.go", K.CGO_GENERATED),
        ("OnEvent", "/tmp/go-build123/b001/_cgo_export.c", K.CGO_GENERATED),
        # C code: the program's own (preamble or .c file), a dependency's, runtime/cgo's, the C library's.
        ("checksum", "/work/programs/cgo_crash/main.go", K.MAIN_MODULE),
        ("C.find", "/work/programs/cgo_inlined_lookup/main.go", K.MAIN_MODULE),
        ("C.histogram_observe", "/src/shop/native/histogram.c", K.MAIN_MODULE),
        ("sqlite3VdbeExec", "/root/go/pkg/mod/github.com/mattn/go-sqlite3@v1.14.22/sqlite3-binding.c", K.DEPENDENCY),
        ("zstd_compress", "github.com/acme/zstd@v1.0.0/zstd.c", K.DEPENDENCY),
        ("png_read", "/src/shop/vendor/github.com/acme/png/png.c", K.DEPENDENCY),
        ("crosscall1", "/usr/local/go/src/runtime/cgo/gcc_amd64.S", K.RUNTIME),
        ("x_cgo_init", "runtime/cgo/gcc_linux_amd64.c", K.RUNTIME),
        ("threadentry", "/usr/local/go/src/runtime/cgo/gcc_linux_amd64.c", K.RUNTIME),
        ("C.strlen", "", K.FOREIGN),
        ("__GI_raise", "?", K.FOREIGN),
        ("inline_helper", "/usr/include/x86_64-linux-gnu/bits/string_fortified.h", K.FOREIGN),
        # Compiler-generated and unknown.
        ("type:.eq.main.order", "<autogenerated>", K.GENERATED),
        ("type..eq.main.order", "<autogenerated>", K.GENERATED),
        ("", "?", K.UNKNOWN),
    ],
)
def test_classify(function: str, file: str, kind: CodeKind) -> None:
    assert SCOPE.classify(function, file) is kind


def test_scopes_narrow_and_widen_your_code() -> None:
    frames = {
        K.MAIN_MODULE: ("main.worker", "/src/main.go"),
        K.DEPENDENCY: ("github.com/acme/cache.(*LRU).Get", ""),
        K.STANDARD_LIBRARY: ("sync.(*Mutex).Lock", ""),
        K.RUNTIME: ("runtime.gopark", ""),
        K.CGO_GENERATED: ("main._Cfunc_f", "_cgo_gotypes.go"),
        K.FOREIGN: ("C.strlen", ""),
        K.UNKNOWN: ("", ""),
    }
    expected = {
        YourCode.MAIN_MODULE: {K.MAIN_MODULE},
        YourCode.MODULES: {K.MAIN_MODULE, K.DEPENDENCY},
        YourCode.NON_RUNTIME: {K.MAIN_MODULE, K.DEPENDENCY, K.STANDARD_LIBRARY},
    }
    for your_code, kinds in expected.items():
        scope = SCOPE.with_your_code(your_code)
        yours = {kind for kind, (function, file) in frames.items() if scope.is_yours(function, file)}
        assert yours == kinds, your_code


def test_default_scope_is_modules() -> None:
    assert SCOPE.your_code is YourCode.MODULES
    assert CodeScope().your_code is YourCode.MODULES


def test_without_build_info_main_and_dotted_paths_are_the_programs() -> None:
    scope = CodeScope.from_build_info(None)
    assert not scope.has_build_info
    assert scope.classify("main.main") is K.MAIN_MODULE
    assert scope.classify("example.com/shop/internal/orders.Put") is K.DEPENDENCY
    assert scope.classify("sync.(*Mutex).Lock") is K.STANDARD_LIBRARY
    assert scope.is_yours("example.com/shop/internal/orders.Put")
    assert not scope.with_your_code("mainModule").is_yours("example.com/shop/internal/orders.Put")
    # An empty BuildInfo (nothing could be read) is the same as none.
    assert CodeScope.from_build_info(BuildInfo()) == scope


def test_escaped_dots_in_the_main_modules_path() -> None:
    scope = CodeScope.from_build_info(parse_modinfo("path\texample.com/shop.v2\nmod\texample.com/shop.v2\t(devel)\t\n"))
    assert scope.classify("example.com/shop%2ev2.Run") is K.MAIN_MODULE
    assert scope.with_your_code("mainModule").is_yours("example.com/shop%2ev2.Run")


def test_a_main_module_without_a_dot_is_recognised_from_the_build_info() -> None:
    scope = CodeScope.from_build_info(parse_modinfo("path\tmyapp\nmod\tmyapp\t(devel)\t\n"))
    assert scope.classify("myapp/internal/db.Open") is K.MAIN_MODULE
    assert scope.classify("mime/multipart.NewReader") is K.STANDARD_LIBRARY


@pytest.mark.parametrize(
    ("value", "expected"),
    [("mainModule", YourCode.MAIN_MODULE), ("main-module", YourCode.MAIN_MODULE), ("modules", YourCode.MODULES),
     ("nonRuntime", YourCode.NON_RUNTIME), ("non-runtime", YourCode.NON_RUNTIME), (YourCode.MODULES, YourCode.MODULES)],
)  # fmt: skip
def test_parse_your_code(value: object, expected: YourCode) -> None:
    assert parse_your_code(value) is expected


@pytest.mark.parametrize("value", ["all", "", None, 3, "MAINMODULE"])
def test_parse_your_code_says_what_is_accepted(value: object) -> None:
    with pytest.raises(ValueError, match='"mainModule", "modules", "nonRuntime"'):
        parse_your_code(value)


def test_c_function_names_and_generated_files() -> None:
    assert is_c_function("lookup") and is_c_function("C.find")
    assert not is_c_function("main.main") and not is_c_function("panic") and not is_c_function("")
    for file in ("_cgo_gotypes.go", "/tmp/go-build/cgo-gcc-prolog", "/tmp/b001/_cgo_export.c", "main.cgo1.go"):
        assert is_cgo_generated_file(file), file
    for file in ("/src/main.go", "histogram.c", "", "?"):
        assert not is_cgo_generated_file(file), file
