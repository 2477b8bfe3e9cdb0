"""Reading /proc for the tests: which processes are alive, and which dlv runs below a process."""

from __future__ import annotations

from pathlib import Path


def process_table() -> dict[int, tuple[int, str, bool]]:
    """pid -> (parent pid, comm, alive) of every process."""
    table: dict[int, tuple[int, str, bool]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            comm = (entry / "comm").read_text().strip()
            status = (entry / "status").read_text()
        except OSError:
            continue
        fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
        zombie = fields.get("State", "").strip().startswith("Z")
        table[int(entry.name)] = (int(fields.get("PPid", "0").strip()), comm, not zombie)
    return table


def dlv_descendants(pid: int) -> set[int]:
    """Live `dlv` processes below `pid`: the adapter's Delve and what Delve starts itself (its
    `dlv ** telemetry **` child)."""
    table = process_table()
    children: dict[int, list[int]] = {}
    for child, (parent, _, _) in table.items():
        children.setdefault(parent, []).append(child)
    found: set[int] = set()
    todo = list(children.get(pid, []))
    while todo:
        current = todo.pop()
        _, comm, alive = table[current]
        if comm == "dlv" and alive:
            found.add(current)
        todo.extend(children.get(current, []))
    return found


def pid_alive(pid: int) -> bool:
    """True while `pid` runs (a zombie has ended: only its parent's wait is missing)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    state = next((line.split()[1] for line in status.splitlines() if line.startswith("State:")), "Z")
    return state != "Z"
