"""backends.cframes on real corpus binaries, against two independent readers of the same DWARF:
binutils' `readelf --debug-dump=decodedline` for the line tables, and Delve's own inline expansion of
every return address on every goroutine's stack."""

from __future__ import annotations

import asyncio
import re
import shutil
import subprocess
from collections import defaultdict
from pathlib import Path

import pytest

from gocore_dap.backends.cframes.symbolize import PcSymbolizer
from gocore_dap.backends.delve.api import DelveApi
from gocore_dap.backends.delve.process import DelveProcess
from tests.conftest import require_tool
from tests.support.corpus_fixtures import CorpusCase

pytestmark = pytest.mark.integration

_ROW = re.compile(r"^(\S+)\s+(\d+)\s+(0x[0-9a-f]+)(?:\s|$)")


def readelf_rows(binary: Path) -> dict[int, tuple[str, int]]:
    """Address -> (file base name, line) of the last row at that address, as readelf decodes it;
    addresses that two sequences claim are left out (the answer depends on which sequence one asks)."""
    out = subprocess.run(["readelf", "--debug-dump=decodedline", str(binary)], capture_output=True, text=True,
                         check=True, timeout=300).stdout  # fmt: skip
    rows: dict[int, tuple[str, int]] = {}
    owners: dict[int, int] = defaultdict(int)
    sequence = 0
    previous = -1
    for line in out.splitlines():
        match = _ROW.match(line)
        if match is None:
            if line.startswith("CU:") or not line.strip():
                sequence += 1
            continue
        address = int(match[3], 16)
        if address < previous:
            sequence += 1
        previous = address
        if rows.get(address) is None or owners[address] == sequence:
            rows[address] = (match[1].rsplit("/", 1)[-1], int(match[2]))
        owners[address] = sequence
    return rows


@pytest.mark.corpus("cgo_crash", "cgo_inlined_lookup", "cgo_c_library")
def test_line_tables_agree_with_readelf(corpus_case: CorpusCase) -> None:
    require_tool(shutil.which("readelf") is not None, "readelf (binutils)")
    binary = corpus_case.artifact.binary
    symbolizer = PcSymbolizer.open(binary)
    c_units = [u for u in symbolizer._info.units() if not u.is_go and u.stmt_list is not None]
    assert c_units, "no C compile unit"
    expected = readelf_rows(binary)
    checked = 0
    for unit in c_units:
        table = symbolizer._line_table(unit)
        assert table is not None
        # A row at a sequence's end address describes no instruction (GCC writes one before the end).
        ends = {row.address for row in table.rows if row.end_sequence}
        for row in table.rows:
            if row.end_sequence or row.address not in expected or row.address in ends:
                continue
            found = table.lookup(row.address)
            assert found is not None, hex(row.address)
            assert (found[0].rsplit("/", 1)[-1], found[1]) == expected[row.address], hex(row.address)
            checked += 1
    assert checked > 50


async def _delve_groups(case: CorpusCase, dlv: Path) -> list[list[tuple[str, str, int, int]]]:
    """Every goroutine's frames grouped by PC, (function, file, line, pc), for the return addresses only:
    not a stack's first frame, nor a frame the signal handler or sigpanic interrupted."""
    delve = await DelveProcess.start(dlv, case.artifact.binary, case.artifact.core)
    try:
        api = DelveApi(delve)
        groups: list[list[tuple[str, str, int, int]]] = []
        for g in await api.all_goroutines():
            frames = await api.stacktrace(g.id, 64)
            index = 0
            while index < len(frames):
                pc = frames[index].location.pc
                end = index
                while end < len(frames) and frames[end].location.pc == pc:
                    end += 1
                before = frames[index - 1].location.function_name if index > 0 else ""
                if index > 0 and pc > 0 and before not in ("runtime.sigtrampgo", "runtime.sigpanic"):
                    groups.append([(f.location.function_name, f.location.file, f.location.line, pc)
                                   for f in frames[index:end]])  # fmt: skip
                index = end
        return groups
    finally:
        await delve.close()


@pytest.mark.corpus("cgo_inlined_lookup", "cgo_c_library", "optimized_inlined", "external_abrt", "pprof_labels")
def test_inline_expansion_agrees_with_delve_at_return_addresses(corpus_case: CorpusCase, dlv_path: Path) -> None:
    symbolizer = PcSymbolizer.open(corpus_case.artifact.binary)
    groups = asyncio.run(_delve_groups(corpus_case, dlv_path))
    assert groups
    inlined = 0
    for group in groups:
        pc = group[0][3]
        ours = [(f.function.removeprefix("C."), f.file, f.line) for f in symbolizer.frames_at(pc - 1)]
        theirs = [(function.removeprefix("C."), file, line) for function, file, line, _ in group]
        assert ours == theirs, hex(pc)
        inlined += len(group) > 1
    assert inlined, "no inlined call on any stack: the comparison proves little"


C_PROGRAM = r"""
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct entry { const char *key; int value; struct entry *next; };

static unsigned hash(const char *s) {
	unsigned h = 2166136261u;
	for (; *s; s++) {
		h = (h ^ (unsigned char)*s) * 16777619u;
	}
	return h;
}

static int lookup(struct entry **buckets, unsigned n, const char *key) {
	const struct entry *e = buckets[hash(key) % n];
	while (e != NULL && strcmp(e->key, key) != 0) {
		e = e->next;
	}
	return e != NULL ? e->value : -1;
}

int find(struct entry **buckets, unsigned n, const char *key) {
	if (key == NULL || key[0] == '\0') {
		return -2;
	}
	return lookup(buckets, n, key);
}

int main(int argc, char **argv) {
	struct entry **buckets = calloc(8, sizeof *buckets);
	printf("%d\n", find(buckets, 8, argc > 1 ? argv[1] : "billing"));
	return 0;
}
"""


def addr2line(binary: Path, addresses: list[int]) -> dict[int, list[tuple[str, int]]]:
    """binutils' inline chain at each exact address: [(function, line)], innermost first."""
    out = subprocess.run(["addr2line", "-f", "-i", "-a", "-e", str(binary), *(hex(a) for a in addresses)],
                         capture_output=True, text=True, check=True, timeout=120).stdout.splitlines()  # fmt: skip
    chains: dict[int, list[tuple[str, int]]] = {}
    current: list[tuple[str, int]] = []
    index = 0
    while index < len(out):
        line = out[index]
        if line.startswith("0x"):
            current = chains.setdefault(int(line, 16), [])
            index += 1
            continue
        where = out[index + 1].split(" (discriminator")[0]
        number = where.rsplit(":", 1)[-1]
        current.append((line, int(number) if number.isdigit() else 0))
        index += 2
    return chains


@pytest.mark.parametrize("dwarf", ["-gdwarf-4", "-gdwarf-5"])
def test_a_c_executable_agrees_with_binutils(dwarf: str, tmp_path: Path) -> None:
    for tool in ("gcc", "readelf", "addr2line"):
        require_tool(shutil.which(tool) is not None, tool)
    source = tmp_path / "lookup.c"
    source.write_text(C_PROGRAM)
    binary = tmp_path / "lookup"
    subprocess.run(["gcc", "-O2", "-g", dwarf, "-o", str(binary), str(source)], check=True, timeout=120)
    symbolizer = PcSymbolizer.open(binary)
    rows = readelf_rows(binary)
    ours_lines = 0
    for address, (file, line) in rows.items():
        frames = symbolizer.frames_at(address)
        if frames and frames[0].file.endswith("lookup.c"):
            assert (Path(frames[0].file).name, frames[0].line) == (file, line), hex(address)
            ours_lines += 1
    assert ours_lines > 20
    chains = addr2line(binary, sorted(rows))
    inlined = 0
    for address, chain in chains.items():
        if not chain or chain[0][0] == "??":
            continue
        ours = [(f.function.removeprefix("C."), f.line) for f in symbolizer.frames_at(address)]
        assert ours == chain, hex(address)
        inlined += len(chain) > 1
    assert inlined, "gcc inlined nothing: the chains prove little"
