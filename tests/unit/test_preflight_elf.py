"""The pre-flight ELF reader, on the real samples of tests/integration/test_preflight_real.py.

Independent oracles: binutils' readelf for headers and GNU build IDs, `go tool buildid` for Go
build IDs, the pid and path we ran each sample with for the process notes.
"""

from __future__ import annotations

import re
import shutil
import struct
import subprocess
from pathlib import Path

import pytest

from gocore_dap.preflight.coreinfo import read_core_info
from gocore_dap.preflight.elf import (
    AT_ENTRY,
    AT_EXECFN,
    EM_X86_64,
    ET_CORE,
    ET_DYN,
    ET_EXEC,
    PT_LOAD,
    PT_NOTE,
    ElfFile,
    ElfFormatError,
    ElfTruncatedError,
    Note,
    decode_auxv,
    decode_nt_file,
    parse_elf_header,
    parse_notes,
    scan_build_id_notes,
)
from gocore_dap.preflight.exeinfo import read_exe_info
from tests.conftest import require_tool
from tests.integration.test_preflight_real import Samples, build_samples


@pytest.fixture(scope="session")
def samples(tmp_path_factory: pytest.TempPathFactory) -> Samples:
    # Same directory as the integration fixture: one build per session, whichever runs first.
    return build_samples(tmp_path_factory.getbasetemp() / "preflight-samples")


def readelf(*args: str) -> str:
    require_tool(shutil.which("readelf") is not None, "readelf (binutils)")
    return subprocess.run(["readelf", *args], capture_output=True, text=True, check=True).stdout


def readelf_loads(path: Path) -> list[tuple[int, int, int, int]]:
    """(offset, vaddr, filesz, memsz) of every LOAD in `readelf -lW`."""
    out = []
    for line in readelf("-lW", str(path)).splitlines():
        parts = line.split()
        if parts and parts[0] == "LOAD":
            out.append((int(parts[1], 16), int(parts[2], 16), int(parts[4], 16), int(parts[5], 16)))
    return out


# ---------------------------------------------------------------------------------------------
# Executables


@pytest.mark.parametrize("name", ["a", "a_pie", "a_stripped", "b", "c"])
def test_exe_headers_match_readelf(samples: Samples, name: str) -> None:
    exe = samples.exe(name)
    info = read_exe_info(exe)
    header = readelf("-hW", str(exe))
    entry = int(re.search(r"Entry point address:\s+(0x[0-9a-f]+)", header).group(1), 16)  # type: ignore[union-attr]
    assert info.header.e_entry == entry
    assert info.header.e_type == (ET_DYN if "DYN (" in header else ET_EXEC)
    assert info.header.e_machine == EM_X86_64
    assert [(s.offset, s.vaddr, s.filesz, s.memsz) for s in info.segments] == readelf_loads(exe)


@pytest.mark.parametrize("name", ["a", "a_pie", "a_stripped", "a_noopt", "b", "c"])
def test_exe_build_ids_match_readelf_and_go_tool(samples: Samples, name: str) -> None:
    exe = samples.exe(name)
    ids = read_exe_info(exe).build_ids
    gnu = re.search(r"Build ID: ([0-9a-f]+)", readelf("-nW", str(exe)))
    assert ids.gnu == (gnu.group(1) if gnu else None)
    if name == "c":
        assert ids.go is None
    else:
        go_id = subprocess.run(["go", "tool", "buildid", str(exe)], capture_output=True, text=True, check=True)
        assert ids.go == go_id.stdout.strip()


def test_go_and_dwarf_detection(samples: Samples) -> None:
    a = read_exe_info(samples.exe("a"))
    assert a.is_go and a.has_dwarf and a.has_symtab
    version = subprocess.run(["go", "env", "GOVERSION"], capture_output=True, text=True, check=True)
    assert a.go_version == version.stdout.strip()
    stripped = read_exe_info(samples.exe("a_stripped"))
    assert stripped.is_go and not stripped.has_dwarf and not stripped.has_symtab
    assert stripped.go_version == a.go_version
    c = read_exe_info(samples.exe("c"))
    assert not c.is_go and c.go_version is None and c.is_pie


def test_sections_are_named(samples: Samples) -> None:
    with ElfFile(samples.exe("a")) as elf:
        names = [s.name for s in elf.sections]
    assert names[0] == ""
    listed = re.findall(r"\]\s+(\S+)\s+(?:PROGBITS|NOTE|NOBITS|SYMTAB|STRTAB)", readelf("-SW", str(samples.exe("a"))))
    assert names[1:] == listed


# ---------------------------------------------------------------------------------------------
# Cores


@pytest.mark.parametrize("name", ["a", "a_pie", "b", "c"])
def test_core_process_notes(samples: Samples, name: str) -> None:
    sample = samples.items[name]
    core = read_core_info(samples.core(name))
    assert core.header.e_type == ET_CORE and core.header.e_machine == EM_X86_64
    assert core.process is not None
    assert core.process.pid == sample.pid
    assert core.process.fname == sample.exe.name[:15]
    assert core.process.psargs == str(sample.exe)[:79]  # pr_psargs is 80 bytes with its NUL
    assert core.exe_path == str(sample.exe) and not core.exe_deleted
    assert core.execfn == str(sample.exe)
    assert core.auxv.get(AT_EXECFN) is not None
    assert core.signal is not None and core.signal.name == "SIGABRT"
    assert any(t.tid == sample.pid for t in core.threads)  # the main thread's LWP id is the pid
    assert core.threads[0].signal == 6
    assert core.notes_complete and core.missing_bytes == 0
    assert core.describe_process().startswith(f"pid {sample.pid}, command line '{sample.exe}'")


def test_core_segments_match_readelf(samples: Samples) -> None:
    core_path = samples.core("a")
    core = read_core_info(core_path)
    assert [(s.offset, s.vaddr, s.filesz, s.memsz) for s in core.segments] == sorted(
        readelf_loads(core_path), key=lambda t: t[1]
    )
    assert core.expected_size == core.file_size == core_path.stat().st_size


def test_core_auxv_and_exe_image_non_pie(samples: Samples) -> None:
    core = read_core_info(samples.core("a"))
    exe = read_exe_info(samples.exe("a"))
    assert core.auxv[AT_ENTRY] == exe.header.e_entry  # ET_EXEC: no relocation
    assert core.exe_load_base == exe.image_base == 0x400000
    image = core.exe_image
    assert image is not None
    assert image.build_ids == exe.build_ids
    assert image.header.e_entry == exe.header.e_entry
    assert image.header_bytes == exe.header_bytes
    assert [(s.offset, s.vaddr, s.memsz) for s in image.segments] == [
        (s.offset, s.vaddr, s.memsz) for s in exe.segments
    ]


def test_core_auxv_and_exe_image_pie(samples: Samples) -> None:
    core = read_core_info(samples.core("a_pie"))
    exe = read_exe_info(samples.exe("a_pie"))
    assert exe.is_pie and core.exe_load_base is not None
    bias = exe.load_bias(core.exe_load_base)
    assert bias != 0 and bias % core.page_size == 0
    assert core.auxv[AT_ENTRY] == exe.header.e_entry + bias
    assert core.exe_image is not None and core.exe_image.build_ids == exe.build_ids


def test_core_mapped_files_of_a_c_program(samples: Samples) -> None:
    core = read_core_info(samples.core("c"))
    paths = {f.path for f in core.mapped_files}
    assert str(samples.exe("c")) in paths
    assert any("libc" in Path(p).name for p in paths)
    exe_maps = [f for f in core.mapped_files if f.path == str(samples.exe("c"))]
    assert min(f.file_offset for f in exe_maps) == 0
    assert core.exe_load_base == min(f.start for f in exe_maps)
    assert core.exe_image is not None
    assert core.exe_image.build_ids == read_exe_info(samples.exe("c")).build_ids


def test_crashing_thread_stack_is_in_dumped_memory(samples: Samples) -> None:
    core = read_core_info(samples.core("a"))
    for thread in core.threads:
        assert thread.sp is not None and thread.pc is not None
        assert core.is_dumped(thread.sp) and core.is_present(thread.sp)
        # Every Go thread's pc is in the executable's text (static binary).
        text = core.segment_at(thread.pc)
        assert text is not None and text.vaddr == 0x400000


def test_truncated_core_parses_what_is_left(samples: Samples, tmp_path: Path) -> None:
    core_path = samples.core("a")
    full = read_core_info(core_path)
    notes = full.note_segments[0]
    cut = tmp_path / "core"
    cut.write_bytes(core_path.read_bytes()[: notes.offset + notes.filesz - 100])
    info = read_core_info(cut)
    assert not info.notes_complete
    assert info.process == full.process
    assert info.missing_bytes == full.expected_size - cut.stat().st_size
    assert info.exe_image is None  # its page is beyond the cut

    cut.write_bytes(core_path.read_bytes()[:200])  # inside the program header table
    with pytest.raises(ElfTruncatedError):
        read_core_info(cut)


# ---------------------------------------------------------------------------------------------
# Pure parsing


def test_parse_elf_header_errors() -> None:
    with pytest.raises(ElfFormatError):
        parse_elf_header(b"hello world, not ELF at all")
    with pytest.raises(ElfTruncatedError):
        parse_elf_header(b"\x7fELF\x02\x01\x01")
    with pytest.raises(ElfTruncatedError):
        parse_elf_header(b"\x7fELF\x02\x01\x01" + bytes(20))
    with pytest.raises(ElfFormatError):
        parse_elf_header(b"\x7fELF\x07\x01\x01" + bytes(60))


def _note(owner: bytes, n_type: int, desc: bytes) -> bytes:
    name = owner + b"\0"
    return struct.pack("<III", len(name), len(desc), n_type) + _pad4(name) + _pad4(desc)


def _pad4(raw: bytes) -> bytes:
    return raw + bytes(-len(raw) % 4)


def test_parse_notes_complete_and_cut() -> None:
    data = _note(b"CORE", 1, b"x" * 10) + _note(b"GNU", 3, bytes.fromhex("aabbcc"))
    notes, complete = parse_notes(data)
    assert complete
    assert notes == [Note("CORE", 1, b"x" * 10), Note("GNU", 3, bytes.fromhex("aabbcc"))]
    notes, complete = parse_notes(data[:-4])
    assert not complete and len(notes) == 1


def test_scan_build_id_notes_finds_signatures_in_raw_bytes() -> None:
    gnu = _note(b"GNU", 3, bytes(range(20)))
    go = struct.pack("<III", 4, 8, 4) + b"Go\0\0" + b"abc/defg"
    page = b"\x90" * 100 + gnu + b"\0" * 7 + go + b"\xcc" * 50
    ids = scan_build_id_notes(page)
    assert ids.gnu == bytes(range(20)).hex()
    assert ids.go == "abc/defg"
    assert scan_build_id_notes(b"GNU\0" * 100).empty


def test_decode_auxv_and_nt_file() -> None:
    auxv = struct.pack("<QQQQQQ", AT_ENTRY, 0x401000, 6, 4096, 0, 0)
    assert decode_auxv(auxv) == {AT_ENTRY: 0x401000, 6: 4096}
    table = struct.pack("<QQ", 2, 4096) + struct.pack("<QQQ", 0x400000, 0x401000, 0)
    table += struct.pack("<QQQ", 0x401000, 0x402000, 1) + b"/bin/x\0/bin/x (deleted)\0"
    page, files = decode_nt_file(table)
    assert page == 4096
    assert [(f.start, f.file_offset, f.path) for f in files] == [
        (0x400000, 0, "/bin/x"),
        (0x401000, 4096, "/bin/x (deleted)"),
    ]
    with pytest.raises(ElfFormatError):
        decode_nt_file(struct.pack("<QQ", 1000, 4096))


def test_program_header_types_in_a_core(samples: Samples) -> None:
    with ElfFile(samples.core("a")) as elf:
        types = {s.p_type for s in elf.program_headers}
        assert types == {PT_NOTE, PT_LOAD}
        assert elf.sections == ()
