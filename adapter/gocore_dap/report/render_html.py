"""The report as ONE self-contained HTML page: crash card, crashing stack with source, buckets with
expandable stacks (<details>) and a filter box.

No external asset of any kind (fonts, scripts, images), and a Content-Security-Policy that forbids
loading one, so the page opens the same from a ticket attachment, offline, years later. Every text
from the core (panic values, function names, labels) goes through html.escape.
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from typing import Any

from gocore_dap.report.model import Report, ReportFrame
from gocore_dap.report.render_text import _states

__all__ = ["render_html"]

_CSS = """
:root { color-scheme: light dark; --bg: #fff; --fg: #1b1f24; --muted: #6a737d; --card: #f6f8fa;
  --border: #d0d7de; --crash: #cf222e; --mark: #fff8c5; --code: #f3f4f6; }
@media (prefers-color-scheme: dark) { :root { --bg: #0d1117; --fg: #e6edf3; --muted: #8b949e;
  --card: #161b22; --border: #30363d; --crash: #ff7b72; --mark: #3b2f00; --code: #161b22; } }
body { background: var(--bg); color: var(--fg); margin: 2rem auto; max-width: 70rem; padding: 0 1rem;
  font: 15px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; }
h1 { color: var(--crash); font-size: 1.35rem; word-break: break-word; margin: 0 0 .8rem; }
h2 { font-size: 1.1rem; margin-top: 2rem; }
.card { background: var(--card); border: 1px solid var(--border); border-left: 6px solid var(--crash);
  border-radius: 6px; padding: 1rem 1.2rem; }
dl { display: grid; grid-template-columns: max-content 1fr; gap: .2rem 1rem; margin: 0; }
dt { color: var(--muted); } dd { margin: 0; word-break: break-all; }
pre, code { font: 13px/1.4 ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; }
pre { background: var(--code); border: 1px solid var(--border); border-radius: 6px; padding: .6rem .8rem;
  overflow-x: auto; white-space: pre-wrap; }
ol.stack { list-style: none; padding: 0; margin: 0; }
ol.stack li { padding: .25rem 0; border-bottom: 1px dashed var(--border); }
ol.stack li.runtime { color: var(--muted); }
.fn { font-weight: 600; } .loc { color: var(--muted); font-size: 13px; }
.src { margin: .3rem 0 0; } .src .hit { background: var(--mark); font-weight: 600; }
.warn { border-left: 4px solid #bf8700; padding-left: .6rem; }
#filter { width: 100%; box-sizing: border-box; padding: .5rem .7rem; font-size: 15px; border-radius: 6px;
  border: 1px solid var(--border); background: var(--bg); color: var(--fg); }
details.bucket { border: 1px solid var(--border); border-radius: 6px; margin: .4rem 0; padding: .3rem .8rem; }
details.bucket.crashed { border-color: var(--crash); }
details.bucket summary { cursor: pointer; display: flex; gap: 1rem; align-items: baseline; }
.count { font-variant-numeric: tabular-nums; font-weight: 700; min-width: 5rem; text-align: right; }
.states { color: var(--muted); min-width: 12rem; } .label { word-break: break-all; }
.tag { color: var(--crash); font-weight: 600; margin-left: .5rem; }
.muted { color: var(--muted); }
"""

# Filters the buckets by every word typed, against the text each bucket carries in data-search.
_JS = """
(function () {
  var box = document.getElementById('filter');
  var buckets = Array.prototype.slice.call(document.querySelectorAll('details.bucket'));
  var shown = document.getElementById('shown');
  function apply() {
    var words = box.value.toLowerCase().split(/\\s+/).filter(Boolean);
    var n = 0;
    buckets.forEach(function (b) {
      var text = b.getAttribute('data-search');
      var ok = words.every(function (w) { return text.indexOf(w) >= 0; });
      b.hidden = !ok;
      if (ok) { n++; }
    });
    shown.textContent = String(n);
  }
  box.addEventListener('input', apply);
  apply();
})();
"""

_CSP = "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:"


def _e(value: object) -> str:
    return html.escape(str(value), quote=True)


def _frame_item(frame: ReportFrame) -> str:
    css = "runtime" if frame.runtime else "user"
    parts = [f'<li class="{css}"><span class="fn">{_e(frame.function)}</span> '
             f'<span class="loc">{_e(frame.file)}:{frame.line}</span>']  # fmt: skip
    if frame.context:
        rows = []
        for src in frame.context:
            hit = ' class="hit"' if src.line == frame.line else ""
            rows.append(f"<span{hit}>{src.line:5d} | {_e(src.text)}</span>")
        parts.append(f'<pre class="src">{chr(10).join(rows)}</pre>')
    elif frame.source is not None and not frame.runtime:
        parts.append(f'<pre class="src">{_e(frame.source.strip())}</pre>')
    parts.append("</li>")
    return "".join(parts)


def _stack_pre(frames: Sequence[Mapping[str, Any]]) -> str:
    text = "\n".join(f"{f.get('function', '')}(...)\n\t{f.get('file', '')}:{f.get('line', 0)}" for f in frames)
    return f"<pre>{_e(text)}</pre>"


def _bucket(group: Mapping[str, Any]) -> str:
    states = group.get("states") or {}
    ids = [str(i) for i in group.get("memberIds") or []]
    count = int(group.get("count", 0))
    label = str(group.get("label", ""))
    search = " ".join(
        [
            label,
            " ".join(states),
            " ".join(ids),
            " ".join(f"{f.get('function', '')} {f.get('file', '')}" for f in group.get("stack") or []),
        ]
    )
    crashed = bool(group.get("containsCrashing"))
    more = ", ..." if len(ids) < count else ""
    sampled = group.get("statesSampled")
    sample_note = f' <span class="muted">(states of {int(sampled):,} sampled)</span>' if sampled is not None else ""
    return (
        f'<details class="bucket{" crashed" if crashed else ""}"{" open" if crashed else ""} '
        f'data-search="{_e(search.lower())}">'
        f'<summary><span class="count">{count:,}</span><span class="states">{_e(_states(states))}</span>'
        f'<span class="label">{_e(label)}</span>{"<span class=tag>crashed here</span>" if crashed else ""}'
        f"</summary>"
        f'<p class="muted">Goroutines {_e(", ".join(ids))}{more}{sample_note}</p>'
        f"{_stack_pre(group.get('stack') or [])}</details>"
    )


def render_html(report: Report) -> str:
    facts = report.card_facts()
    goroutines = report.goroutines
    groups = report.groups
    exactness = "approximate" if goroutines.get("approximate") else "exact"
    title = "Crashing goroutine" if report.crashing_goroutine_id is not None else "Crashing thread"
    hidden = int(goroutines.get("totalGroups", 0)) - len(groups)
    body = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f'<meta http-equiv="Content-Security-Policy" content="{_CSP}">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{_e(report.headline or 'Crash report')}</title>",
        f"<style>{_CSS}</style></head><body>",
        '<section class="card">',
        f"<h1>{_e(report.headline or 'Crash report')}</h1>",
        "<dl>" + "".join(f"<dt>{_e(k)}</dt><dd>{_e(v)}</dd>" for k, v in facts) + "</dl>",
    ]
    if report.runtime_report:
        body.append(f"<pre>{_e(report.runtime_report)}</pre>")
    body.append("</section>")
    for warning in report.warnings:
        body.append(f'<p class="warn">Warning: {_e(warning)}</p>')
    body += [
        f"<h2>{_e(title)}</h2>",
        '<ol class="stack">' + "".join(_frame_item(f) for f in report.frames) + "</ol>",
        f"<h2>Goroutines by {_e(report.group_by)}</h2>",
        f"<p>{goroutines.get('total', 0):,} goroutines in {goroutines.get('totalGroups', 0):,} groups "
        f'({_e(exactness)}); showing <span id="shown">{len(groups)}</span> of {len(groups):,} listed.</p>',
        '<input id="filter" type="search" placeholder="Filter groups: function, file, state, goroutine id" '
        'aria-label="Filter groups">',
        "".join(_bucket(g) for g in groups),
    ]
    if hidden > 0:
        body.append(f'<p class="muted">{hidden:,} smaller groups are not listed.</p>')
    for note in report.notes:
        body.append(f'<p class="muted">Note: {_e(note)}</p>')
    body += [
        f'<p class="muted">Generated by gocore-dap {_e(report.generator_version)} at {_e(report.generated_at)}.</p>',
        f"<script>{_JS}</script>",
        "</body></html>",
    ]
    return "\n".join(body) + "\n"
