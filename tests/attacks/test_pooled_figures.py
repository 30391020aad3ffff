"""Pooled all-sponsor figures, played as SP1's sponsor: the reliable-change threshold is
1.96 x sqrt(2) x SD x sqrt(1 - reliability), with the SD of every sponsor's baseline scores
(and, for a scale without a declared reliability, every sponsor's Cronbach alpha). Issue 12
read the pooled SD off the methods page's threshold. A sponsor may see the threshold only
to one decimal and the reliability to two, and neither the pooled SD nor an unrounded
threshold or alpha, anywhere."""

from __future__ import annotations

import json
import re

from warehouse.catalog import scales

# A number with five or more decimals: no published figure of the scale's size has that
# many, so one that is a pooled figure rounded is that figure, not a coincidence.
LONG_NUMBER = re.compile(r"(?<![\w.])-?\d+\.(\d{5,})")
# JSON keys of the figures drawn from every sponsor, and the decimals a sponsor may see.
POOLED_KEYS = {"reliable_threshold": 1, "threshold": 1, "reliability_used": 2}
# The methods page's table of scales: column header -> decimals a sponsor may see.
METHODS_COLUMNS = {"Reliable change (points)": 1, "Reliability used": 2}
HIDDEN_COLUMN = "Pre-training SD"


def _pooled(evaluator) -> dict[str, float]:
    """The exact pooled figures of every scale, as a trusted role's catalogue has them."""
    out = {}
    for s in scales(evaluator.db):
        out[f"{s['scale_id']} pre-training SD"] = s["sd_pre"]
        out[f"{s['scale_id']} threshold"] = s["reliable_threshold"]
        if s["reliability_source"] != "declared":
            out[f"{s['scale_id']} baseline alpha"] = s["reliability_used"]
    return out


def test_no_unrounded_pooled_sd_threshold_or_alpha_reaches_the_sponsor(sponsor_outputs,
                                                                       evaluator):
    pooled = _pooled(evaluator)
    assert any("alpha" in name for name in pooled), "one scale's threshold uses the alpha"
    found = set()
    for where, text in sponsor_outputs:
        for match in LONG_NUMBER.finditer(text):
            value, decimals = float(match.group(0)), len(match.group(1))
            found |= {(name, match.group(0), where) for name, exact in pooled.items()
                      if round(exact, decimals) == value}
    assert not found, f"pooled figures in the sponsor's outputs: {sorted(found)[:6]}"


def _walk(value):
    if isinstance(value, dict):
        yield value
        for v in value.values():
            yield from _walk(v)
    elif isinstance(value, list):
        for v in value:
            yield from _walk(v)


def _decimals(text: str) -> int:
    """Decimals a figure shown as text really has (trailing zeros of formatting aside)."""
    return len(text.split(".")[1].rstrip("0")) if "." in text else 0


def _table_columns(page) -> dict[str, list[str]]:
    """The methods page's tables as {header: [cell text, ...]}."""
    columns: dict[str, list[str]] = {}
    for table in (n for n in _walk(page) if n.get("type") == "Table"):
        rows = [[c["props"].get("children") for c in _walk(tr) if c.get("type") in ("Th", "Td")]
                for tr in _walk(table) if tr.get("type") == "Tr"]
        for i, header in enumerate(rows[0] if rows else []):
            columns.setdefault(header, []).extend(str(r[i]) for r in rows[1:])
    return columns


def test_thresholds_and_reliabilities_the_sponsor_sees_are_rounded(sponsor_outputs):
    seen = 0
    for where, text in sponsor_outputs:
        try:
            value = json.loads(text)
        except ValueError:
            continue  # CSV text: the same records are in the chart's data, as JSON
        for node in _walk(value):
            for key, decimals in POOLED_KEYS.items():
                figure = node.get(key)
                if isinstance(figure, float):
                    seen += 1
                    assert figure == round(figure, decimals), f"{where}: {key} {figure}"
            assert node.get("sd_pre") is None, f"{where}: the pooled SD {node['sd_pre']}"
    assert seen, "the sponsor is shown thresholds"
    columns = _table_columns(json.loads(dict(sponsor_outputs)["page /methods"]))
    assert HIDDEN_COLUMN not in columns
    for header, decimals in METHODS_COLUMNS.items():
        assert columns[header], header
        assert all(_decimals(cell) <= decimals for cell in columns[header]), (header,
                                                                               columns[header])
