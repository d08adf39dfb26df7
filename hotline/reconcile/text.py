"""The reconciliation report as text (``hotline reconcile --day``): a table and the unexplained list."""

from __future__ import annotations

from typing import Any

from .rules import FACTS


def render(report: dict[str, Any]) -> str:
    counts = report["counts"]
    lines = [f"reconciliation {report['day']} ({report['sources'].get('timezone', '')})",
             f"{'':<10} {'ours':>6} {'asterisk':>9} {'diff':>6} {'explained':>10} {'unexplained':>12}"]
    for fact in FACTS:
        row = counts[fact]
        lines.append(f"{fact:<10} {row['ours']:>6} {row['asterisk']:>9} {row['difference']:>6} "
                     f"{row['explained_difference']:>10} {row['unexplained_difference']:>12}")
    ab = counts["abandoned"]
    lines.append(f"abandoned: {ab['ours_short']} short (within 5 s), {ab['ours_kpi']} in the abandon rate")
    lines.append("")
    lines.append("rules: " + (", ".join(f"{k} {v}" for k, v in sorted(report["rules"].items())) or "none"))
    if report["skipped"]:
        first = report["skipped"][:10]
        lines.append(f"skipped lines: {len(report['skipped'])} ("
                     + "; ".join(f"{s['source']}:{s['line']} {s['reason']}" for s in first) + ")")
    lines.append(f"unexplained: {len(report['unexplained'])}")
    for c in report["unexplained"]:
        ours, theirs = c["ours"], c["asterisk"]
        lines.append(f"  {c['call_id']}: differs in {', '.join(c['differs'])}; ours: outcome {ours['outcome']}, "
                     f"queue {ours['queue']}, day {ours['day']}; asterisk: queue_log {theirs['queue_log']}, "
                     f"CDR {theirs['cdr_channels']}, day {theirs['day']}")
    return "\n".join(lines) + "\n"
