"""preflight.debuginfo: finding the DWARF of a stripped program, on small ELF files written here.

The files are real ELF (headers, section table, notes) but tiny: a "stripped program" with build-ID notes and
a .gnu_debuglink, and "debug files" with a .debug_info section. A loopback HTTP server in a thread stands in
for debuginfod (the real server is in tests/integration/test_split_debuginfo.py).
"""

from __future__ import annotations

import http.server
import struct
import threading
import time
import zlib
from collections.abc import Iterator
from pathlib import Path

import attrs
import pytest

from gocore_dap.backends.delve.debuginfo_config import delve_debug_info_env
from gocore_dap.preflight.debuginfo import DebugInfoOptions, describe_not_found, find_debug_info
from gocore_dap.preflight.exeinfo import ExeInfo, read_exe_info

GNU_ID = "af70e1af2373280c6c01e99de45686c6db68ea06"
GO_ID = "GRTmJCGrt8F3wrqdN27U/vTxirGMPnPNkRXG6uW19/H8gs2SV1mzD-I3OITh_O/0deVyN1ynMIjYQqXev5T"
OTHER_GNU_ID = "5bda8783e63018881ee53883f8ff310e8998452b"

SHT_PROGBITS, SHT_STRTAB, SHT_NOTE, SHT_NOBITS = 1, 3, 7, 8


def _note(owner: bytes, n_type: int, desc: bytes) -> bytes:
    name = owner + b"\0"
    pad = lambda b: b + b"\0" * (-len(b) % 4)  # noqa: E731
    return struct.pack("<III", len(name), len(desc), n_type) + pad(name) + pad(desc)


def write_elf(
    path: Path,
    *,
    gnu_id: str | None = GNU_ID,
    go_id: str | None = GO_ID,
    dwarf: bool = False,
    debuglink: tuple[str, int] | None = None,
    executable: bool = True,
    extra: bytes = b"",
) -> Path:
    """An x86-64 ELF file with the given identity; `executable` gives it code (.text with contents and a
    PT_LOAD), otherwise it looks like an `objcopy --only-keep-debug` file (.text NOBITS)."""
    sections: list[tuple[str, int, bytes]] = [(".text", SHT_PROGBITS if executable else SHT_NOBITS, b"\xc3" * 64)]
    if gnu_id:
        sections.append((".note.gnu.build-id", SHT_NOTE, _note(b"GNU", 3, bytes.fromhex(gnu_id))))
    if go_id:
        sections.append((".note.go.buildid", SHT_NOTE, _note(b"Go", 4, go_id.encode())))
    if dwarf:
        sections.append((".debug_info", SHT_PROGBITS, b"\x01" * 128 + extra))
    if debuglink:
        name = debuglink[0].encode() + b"\0"
        name += b"\0" * (-len(name) % 4)
        sections.append((".gnu_debuglink", SHT_PROGBITS, name + struct.pack("<I", debuglink[1])))
    names = b"\0" + b"".join(n.encode() + b"\0" for n, _, _ in sections) + b".shstrtab\0"
    sections.append((".shstrtab", SHT_STRTAB, names))

    phnum = 1 if executable else 0
    body = bytearray()
    offset = 64 + 56 * phnum
    placed = []
    for name, sh_type, data in sections:
        placed.append((name, sh_type, offset + len(body), len(data)))
        if sh_type != SHT_NOBITS:
            body += data + b"\0" * (-len(data) % 8)
    shoff = offset + len(body)
    header = b"\x7fELF" + bytes([2, 1, 1, 0]) + b"\0" * 8
    header += struct.pack(
        "<HHIQQQIHHHHHH", 2, 62, 1, 0x401000, 64 if phnum else 0, shoff, 0, 64, 56, phnum, 64, len(sections) + 1,
        len(sections),
    )  # fmt: skip
    phdrs = struct.pack("<IIQQQQQQ", 1, 5, 0, 0x400000, 0x400000, shoff, shoff, 0x1000) if phnum else b""
    table = b"\0" * 64
    name_at = 1
    for name, sh_type, off, size in placed:
        table += struct.pack("<IIQQQQIIQQ", name_at, sh_type, 0, 0, off, size, 0, 0, 1, 0)
        name_at += len(name) + 1
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(header + phdrs + bytes(body) + table)
    return path


def crc_of(path: Path) -> int:
    return zlib.crc32(path.read_bytes())


@attrs.frozen
class Layout:
    program: Path
    debug: Path  # the matching debug-only file, in no searched place yet
    exe: ExeInfo


@pytest.fixture
def layout(tmp_path: Path) -> Layout:
    debug = write_elf(tmp_path / "kept" / "server.debug", dwarf=True, executable=False)
    program = write_elf(tmp_path / "bin" / "server", debuglink=("server.debug", crc_of(debug)))
    exe = read_exe_info(program)
    assert not exe.has_dwarf and exe.build_ids.gnu == GNU_ID and exe.debuglink == ("server.debug", crc_of(debug))
    return Layout(program, debug, exe)


def isolated(**kwargs: object) -> DebugInfoOptions:
    """No system directory, no debuginfod from the environment: only what the test gives."""
    defaults: dict[str, object] = {"system_directories": (), "debuginfod_urls": ()}
    return DebugInfoOptions(**{**defaults, **kwargs})  # type: ignore[arg-type]


# --- directories ----------------------------------------------------------------------------------------------


def test_build_id_layout_in_a_debug_directory(layout: Layout, tmp_path: Path) -> None:
    store = tmp_path / "store"
    target = store / ".build-id" / GNU_ID[:2] / f"{GNU_ID[2:]}.debug"
    target.parent.mkdir(parents=True)
    target.write_bytes(layout.debug.read_bytes())
    search = find_debug_info(layout.exe, isolated(directories=(store,)))
    assert search.found is not None
    assert (search.found.source, search.found.file, search.found.delve_program) == ("directory", target, layout.program)
    assert search.found.needs_handoff
    assert search.looked[-1].found and search.looked[-1].how == "build-id"


def test_the_standard_build_id_tree_itself_can_be_given(layout: Layout, tmp_path: Path) -> None:
    tree = tmp_path / "usr" / "lib" / "debug" / ".build-id"
    target = tree / GNU_ID[:2] / f"{GNU_ID[2:]}.debug"
    target.parent.mkdir(parents=True)
    target.write_bytes(layout.debug.read_bytes())
    assert find_debug_info(layout.exe, isolated(directories=(tree,))).found is not None
    # ... and /usr/lib/debug is searched without being named.
    found = find_debug_info(layout.exe, isolated(system_directories=(tree.parent,))).found
    assert found is not None and found.file == target


def test_debuglink_name_with_its_crc(layout: Layout, tmp_path: Path) -> None:
    flat = tmp_path / "flat"
    flat.mkdir()
    (flat / "server.debug").write_bytes(layout.debug.read_bytes())
    search = find_debug_info(layout.exe, isolated(directories=(flat,)))
    assert search.found is not None and search.found.file == flat / "server.debug"
    assert [i.how for i in search.looked if i.found] == ["debuglink"]


def test_debuglink_next_to_the_program(layout: Layout) -> None:
    (layout.program.parent / ".debug").mkdir()
    (layout.program.parent / ".debug" / "server.debug").write_bytes(layout.debug.read_bytes())
    found = find_debug_info(layout.exe, isolated()).found
    assert found is not None and found.file == layout.program.parent / ".debug" / "server.debug"


def test_a_debuglink_file_with_the_wrong_crc_is_refused(layout: Layout, tmp_path: Path) -> None:
    flat = tmp_path / "flat"
    # The same name, another build's debug file (its build ID even matches: the CRC alone tells).
    write_elf(flat / "server.debug", dwarf=True, executable=False, extra=b"another build")
    search = find_debug_info(layout.exe, isolated(directories=(flat,)))
    assert search.found is None
    miss = next(i for i in search.looked if i.where == str(flat / "server.debug"))
    assert "CRC mismatch" in miss.answer and f"{crc_of(layout.debug):08x}" in miss.answer


def test_a_build_id_file_of_another_program_or_without_dwarf_is_refused(layout: Layout, tmp_path: Path) -> None:
    store = tmp_path / "store"
    target = store / ".build-id" / GNU_ID[:2] / f"{GNU_ID[2:]}.debug"
    write_elf(target, gnu_id=OTHER_GNU_ID, go_id=None, dwarf=True, executable=False)
    search = find_debug_info(layout.exe, isolated(directories=(store,)))
    assert search.found is None
    assert any("a different program" in i.answer for i in search.looked)
    write_elf(target, dwarf=False, executable=False)
    assert any(i.answer == "has no DWARF" for i in find_debug_info(layout.exe, isolated(directories=(store,))).looked)


def test_a_missing_directory_is_reported_as_such(layout: Layout, tmp_path: Path) -> None:
    search = find_debug_info(layout.exe, isolated(directories=(tmp_path / "typo",)))
    assert search.found is None and search.looked[0].answer == "no such directory"


# --- symbolFile -----------------------------------------------------------------------------------------------


def test_symbol_file_unstripped_build_becomes_what_delve_opens(layout: Layout, tmp_path: Path) -> None:
    unstripped = write_elf(tmp_path / "ci" / "server", dwarf=True)
    found = find_debug_info(layout.exe, isolated(symbol_file=unstripped)).found
    assert found is not None and found.source == "symbol-file"
    assert found.delve_program == unstripped and not found.needs_handoff


def test_symbol_file_debug_only_is_handed_over(layout: Layout) -> None:
    found = find_debug_info(layout.exe, isolated(symbol_file=layout.debug)).found
    assert found is not None and found.delve_program == layout.program and found.needs_handoff


def test_symbol_file_of_another_build_is_a_specific_error(layout: Layout, tmp_path: Path) -> None:
    other = write_elf(tmp_path / "other", gnu_id=OTHER_GNU_ID, go_id="x/y/z", dwarf=True)
    # Even with the right file in a directory, a wrong symbol file is not silently passed over.
    flat = tmp_path / "flat"
    flat.mkdir()
    (flat / "server.debug").write_bytes(layout.debug.read_bytes())
    search = find_debug_info(layout.exe, isolated(symbol_file=other, directories=(flat,)))
    assert search.found is None and search.symbol_file_problem is not None
    code, message = search.symbol_file_problem
    assert code == "symbol-file-mismatch"
    assert GNU_ID in message and OTHER_GNU_ID in message and str(other) in message


def test_symbol_file_problems(layout: Layout, tmp_path: Path) -> None:
    cases = {
        tmp_path / "missing": "is not there",
        write_elf(tmp_path / "stripped-too", dwarf=False): "no DWARF debug information either",
    }
    (tmp_path / "text").write_text("not elf")
    cases[tmp_path / "text"] = "not a usable ELF file"
    for path, words in cases.items():
        search = find_debug_info(layout.exe, isolated(symbol_file=path))
        assert search.symbol_file_problem is not None, path
        assert search.symbol_file_problem[0] == "symbol-file-unusable" and words in search.symbol_file_problem[1]


def test_go_build_id_decides_without_a_gnu_one(tmp_path: Path) -> None:
    # Go before 1.24 writes no GNU build ID: the Go build ID is compared instead.
    program = write_elf(tmp_path / "old", gnu_id=None)
    exe = read_exe_info(program)
    same = write_elf(tmp_path / "same", gnu_id=None, dwarf=True)
    other = write_elf(tmp_path / "other", gnu_id=None, go_id="a/b/c", dwarf=True)
    assert find_debug_info(exe, isolated(symbol_file=same)).found is not None
    problem = find_debug_info(exe, isolated(symbol_file=other)).symbol_file_problem
    assert problem is not None and problem[0] == "symbol-file-mismatch"


# --- debuginfod -----------------------------------------------------------------------------------------------


class _Server(http.server.ThreadingHTTPServer):
    files: dict[str, bytes]
    delay: float
    requests: list[str]

    def handle_error(self, request: object, client_address: object) -> None:
        pass  # the client gave up on a slow answer (the timeout test): nothing to report


class _Handler(http.server.BaseHTTPRequestHandler):
    server: _Server

    def do_GET(self) -> None:
        self.server.requests.append(self.path)
        time.sleep(self.server.delay)
        data = self.server.files.get(self.path)
        if data is None:
            self.send_error(404, "Not Found")
            return
        self.send_response(200)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def server() -> Iterator[_Server]:
    srv = _Server(("127.0.0.1", 0), _Handler)
    srv.files, srv.delay, srv.requests = {}, 0.0, []
    thread = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield srv
    srv.shutdown()
    srv.server_close()


def url_of(srv: _Server) -> str:
    return f"http://127.0.0.1:{srv.server_address[1]}"


def test_debuginfod_download_into_the_private_cache(layout: Layout, server: _Server, tmp_path: Path) -> None:
    server.files[f"/buildid/{GNU_ID}/debuginfo"] = layout.debug.read_bytes()
    missing = url_of(server) + "/missing-prefix"
    options = isolated(debuginfod_urls=(missing, url_of(server)), cache_dir=tmp_path / "cache")
    progress: list[tuple[float | None, str]] = []
    search = find_debug_info(layout.exe, options, progress=lambda f, t: progress.append((f, t)), environ={})
    assert search.found is not None and search.found.source == "debuginfod"
    assert search.found.file == tmp_path / "cache" / GNU_ID / "debuginfo"
    assert search.found.file.read_bytes() == layout.debug.read_bytes()
    assert next(i.answer for i in search.looked if i.how == "debuginfod").startswith("HTTP 404")
    assert progress and url_of(server) in progress[-1][1]
    # The second time it comes from the cache: no request.
    before = len(server.requests)
    again = find_debug_info(layout.exe, options, environ={})
    assert again.found is not None and len(server.requests) == before


def test_debuginfod_urls_come_from_the_environment(layout: Layout, server: _Server, tmp_path: Path) -> None:
    options = DebugInfoOptions(system_directories=(), cache_dir=tmp_path / "cache")
    search = find_debug_info(layout.exe, options, environ={"DEBUGINFOD_URLS": f"{url_of(server)}  "})
    assert search.found is None
    assert [(i.where, i.answer.split(" (")[0]) for i in search.looked if i.how == "debuginfod"] == [
        (url_of(server), "HTTP 404 Not Found")
    ]


def test_debuginfod_that_does_not_answer_times_out(layout: Layout, server: _Server, tmp_path: Path) -> None:
    server.delay = 2.0
    options = isolated(debuginfod_urls=(url_of(server),), cache_dir=tmp_path / "cache", timeout=0.3)
    started = time.monotonic()
    search = find_debug_info(layout.exe, options, environ={})
    assert time.monotonic() - started < 1.5
    assert search.found is None and "within 0.3 s" in search.looked[-1].answer


def test_unreachable_debuginfod_and_a_file_that_is_not_debug_info(
    layout: Layout, server: _Server, tmp_path: Path
) -> None:
    server.files[f"/buildid/{GNU_ID}/debuginfo"] = b"<html>proxy login</html>"
    closed = "http://127.0.0.1:9"  # discard port: nothing listens
    options = isolated(debuginfod_urls=(closed, url_of(server)), cache_dir=tmp_path / "cache")
    search = find_debug_info(layout.exe, options, environ={})
    answers = [i.answer for i in search.looked if i.how == "debuginfod"]
    assert search.found is None and answers[0].startswith("unreachable")
    assert answers[1].startswith("answered with a file that cannot be used")
    assert not (tmp_path / "cache" / GNU_ID / "debuginfo").exists()


def test_debuginfod_is_not_asked_without_a_gnu_build_id(tmp_path: Path, server: _Server) -> None:
    exe = read_exe_info(write_elf(tmp_path / "old", gnu_id=None))
    search = find_debug_info(exe, isolated(debuginfod_urls=(url_of(server),), cache_dir=tmp_path / "c"), environ={})
    assert server.requests == [] and "no GNU build ID" in search.looked[-1].answer


# --- the refusal and the hand-off -----------------------------------------------------------------------------


def test_the_refusal_lists_where_it_looked_and_the_three_ways(layout: Layout, server: _Server, tmp_path: Path) -> None:
    store = tmp_path / "store"
    store.mkdir()
    options = isolated(directories=(store,), debuginfod_urls=(url_of(server),), cache_dir=tmp_path / "c")
    search = find_debug_info(layout.exe, options, environ={})
    text = describe_not_found(layout.exe, search, options)
    for words in (
        GNU_ID,
        "'server.debug'",
        f"{crc_of(layout.debug):08x}",
        str(store / ".build-id" / GNU_ID[:2]),
        str(layout.program.parent / "server.debug"),
        f"debuginfod {url_of(server)} (HTTP 404",
        '"debugInfoDirectories"',
        '"symbolFile"',
        "DEBUGINFOD_URLS",
    ):
        assert words in text, words
    no_server = describe_not_found(layout.exe, find_debug_info(layout.exe, isolated()), isolated())
    assert "DEBUGINFOD_URLS is not set" in no_server


def test_handoff_config_for_delve(layout: Layout, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import gocore_dap.backends.delve.debuginfo_config as config

    monkeypatch.setattr(config, "old_delve_config", lambda: None)
    home = tmp_path / "xdg"
    home.mkdir()
    env = delve_debug_info_env(
        home, layout.debug, layout.program, gnu_build_id=GNU_ID, debuglink="server.debug", extra_directories=()
    )
    assert env == {"XDG_CONFIG_HOME": str(home)}
    text = (home / "dlv" / "config.yml").read_text()
    assert text == f'debug-info-directories: ["{home / "debug"}"]\n'
    for name in (
        home / "debug" / ".build-id" / GNU_ID[:2] / f"{GNU_ID[2:]}.debug",
        home / "debug" / "server.debug",
        home / "debug" / str(layout.program.parent).lstrip("/") / "server.debug",
    ):
        assert name.resolve() == layout.debug.resolve(), name


def test_handoff_refuses_when_delve_would_move_the_users_config(
    layout: Layout, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import gocore_dap.backends.delve.debuginfo_config as config

    old = tmp_path / "home" / ".dlv" / "config.yml"
    monkeypatch.setattr(config, "old_delve_config", lambda: old)
    with pytest.raises(config.DebugInfoHandoffError, match=r"mv .*\.dlv/config\.yml ~/\.config/dlv/"):
        delve_debug_info_env(tmp_path, layout.debug, layout.program, gnu_build_id=GNU_ID)


def test_the_users_own_debug_directories_are_kept(tmp_path: Path) -> None:
    from gocore_dap.backends.delve.debuginfo_config import user_debug_info_directories

    config = tmp_path / "dlv" / "config.yml"
    config.parent.mkdir()
    config.write_text('# comment\ndebug-info-directories: ["/usr/lib/debug/.build-id", "/opt/syms"]\n')
    assert user_debug_info_directories({"XDG_CONFIG_HOME": str(tmp_path)}) == ["/usr/lib/debug/.build-id", "/opt/syms"]
    config.write_text("debug-info-directories:\n  - /opt/a\n  - '/opt/b'\nsubstitute-path:\n  - {from: /x, to: /y}\n")
    assert user_debug_info_directories({"XDG_CONFIG_HOME": str(tmp_path)}) == ["/opt/a", "/opt/b"]
    assert user_debug_info_directories({"XDG_CONFIG_HOME": str(tmp_path / "none")}) == []
