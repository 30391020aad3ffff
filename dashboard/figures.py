"""Plotly figures as plain dicts, for the chart callbacks.

``plotly.graph_objects`` validates and deep-copies every property (and the whole template) on
each assignment: that was three quarters of a chart callback's time. The charts here use a
small, fixed part of Plotly's figure API, so this module builds the same JSON directly: the
same method names (``add_trace``, ``update_layout``, ``update_xaxes``, ``add_vline``,
``add_hline``, ``add_vrect``, ``add_annotation``), the same trace constructors (``Scatter``,
``Bar``, ``Heatmap``), Plotly's "magic underscore" paths (``marker_color`` sets
``marker.color``) and ``make_subplots`` for a single column of rows. A string ``title`` becomes
``{"text": ...}``, the only form plotly.js 3 draws. The output is checked against
``plotly.graph_objects`` in tests/dashboard/test_figures.py.
"""

from __future__ import annotations

from typing import Any

# Property names that contain an underscore themselves (never split into a path).
_UNDERSCORED = frozenset({"error_x", "error_y", "error_z", "paper_bgcolor", "plot_bgcolor",
                          "copy_xstyle", "copy_ystyle", "copy_zstyle"})


def _path(key: str) -> list[str]:
    """``marker_line_width`` -> ``["marker", "line", "width"]``, keeping ``error_x`` whole."""
    parts: list[str] = []
    rest = key
    while rest:
        for name in _UNDERSCORED:
            if rest == name or rest.startswith(name + "_"):
                parts.append(name)
                rest = rest[len(name) + 1:]
                break
        else:
            head, _, rest = rest.partition("_")
            parts.append(head)
    return parts


def _merge(target: dict[str, Any], props: dict[str, Any]) -> dict[str, Any]:
    """Set ``props`` (magic-underscore keys, nested dicts) into ``target``, merging dicts."""
    for key, value in props.items():
        *parents, last = _path(key)
        node = target
        for part in parents:
            node = node.setdefault(part, {})
        if isinstance(value, dict):
            value = _merge(node[last] if isinstance(node.get(last), dict) else {}, value)
        elif isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
            value = [_merge({}, v) for v in value]
        elif last == "title" and isinstance(value, str):
            value = {"text": value}
        node[last] = value
    return target


def _trace(kind: str, props: dict[str, Any]) -> dict[str, Any]:
    return _merge({"type": kind}, props)


def Scatter(**props: Any) -> dict[str, Any]:  # noqa: N802 (the name Plotly users know)
    return _trace("scatter", props)


def Bar(**props: Any) -> dict[str, Any]:  # noqa: N802
    return _trace("bar", props)


def Heatmap(**props: Any) -> dict[str, Any]:  # noqa: N802
    return _trace("heatmap", props)


def _axis_name(letter: str, index: int) -> str:
    return f"{letter}axis" if index == 1 else f"{letter}axis{index}"


def _axis_ref(letter: str, index: int) -> str:
    return letter if index == 1 else f"{letter}{index}"


class Figure:
    """A figure being built: ``data`` (list of trace dicts) and ``layout`` (dict)."""

    def __init__(self, data: dict[str, Any] | list[dict[str, Any]] | None = None):
        self.data: list[dict[str, Any]] = (
            [] if data is None else [data] if isinstance(data, dict) else list(data)
        )
        self.layout: dict[str, Any] = {}
        self._rows = 1

    # Traces and layout -------------------------------------------------------------------
    def add_trace(self, trace: dict[str, Any], row: int | None = None,
                  col: int | None = None) -> Figure:
        if row is not None:
            trace = {**trace, "xaxis": _axis_ref("x", row), "yaxis": _axis_ref("y", row)}
        self.data.append(trace)
        return self

    def update_layout(self, **props: Any) -> Figure:
        _merge(self.layout, props)
        return self

    def _update_axes(self, letter: str, row: int | None, props: dict[str, Any]) -> Figure:
        rows = range(1, self._rows + 1) if row is None else (row,)
        for index in rows:
            _merge(self.layout.setdefault(_axis_name(letter, index), {}), props)
        return self

    def update_xaxes(self, row: int | None = None, col: int | None = None,
                     **props: Any) -> Figure:
        return self._update_axes("x", row, props)

    def update_yaxes(self, row: int | None = None, col: int | None = None,
                     **props: Any) -> Figure:
        return self._update_axes("y", row, props)

    # Reference lines, bands and notes ----------------------------------------------------
    def _shape(self, props: dict[str, Any]) -> Figure:
        self.layout.setdefault("shapes", []).append(props)
        return self

    def add_vline(self, x: float, row: int | None = None, col: int | None = None,
                  **props: Any) -> Figure:
        index = row or 1
        return self._shape(_merge({"type": "line", "x0": x, "x1": x,
                                   "xref": _axis_ref("x", index), "y0": 0, "y1": 1,
                                   "yref": f"{_axis_ref('y', index)} domain"}, props))

    def add_hline(self, y: float, row: int | None = None, col: int | None = None,
                  **props: Any) -> Figure:
        index = row or 1
        return self._shape(_merge({"type": "line", "x0": 0, "x1": 1,
                                   "xref": f"{_axis_ref('x', index)} domain", "y0": y, "y1": y,
                                   "yref": _axis_ref("y", index)}, props))

    def add_vrect(self, x0: float, x1: float, row: int | None = None, col: int | None = None,
                  **props: Any) -> Figure:
        index = row or 1
        return self._shape(_merge({"type": "rect", "x0": x0, "x1": x1,
                                   "xref": _axis_ref("x", index), "y0": 0, "y1": 1,
                                   "yref": f"{_axis_ref('y', index)} domain"}, props))

    def add_annotation(self, **props: Any) -> Figure:
        self.layout.setdefault("annotations", []).append(_merge({}, props))
        return self

    def to_plotly_json(self) -> dict[str, Any]:
        """The figure as Plotly JSON (fresh top-level dicts: callers may replace keys)."""
        return {"data": [dict(trace) for trace in self.data],
                "layout": {key: dict(value) if isinstance(value, dict) else value
                           for key, value in self.layout.items()}}


def make_subplots(rows: int, cols: int = 1, *, shared_xaxes: bool = False,
                  vertical_spacing: float = 0.3, subplot_titles: tuple[str, ...] = ()) -> Figure:
    """Rows of plots in one column, top to bottom, like ``plotly.subplots.make_subplots``."""
    if cols != 1:
        raise ValueError("only a single column of subplots is supported")
    fig = Figure()
    fig._rows = rows
    height = (1 - vertical_spacing * (rows - 1)) / rows
    for row in range(1, rows + 1):
        top = 1 - (row - 1) * (height + vertical_spacing)
        bottom = max(0.0, top - height)
        x_axis = {"anchor": _axis_ref("y", row), "domain": [0.0, 1.0]}
        if shared_xaxes and row < rows:
            x_axis.update(matches=_axis_ref("x", rows), showticklabels=False)
        fig.layout[_axis_name("x", row)] = x_axis
        fig.layout[_axis_name("y", row)] = {"anchor": _axis_ref("x", row),
                                            "domain": [round(bottom, 12), round(top, 12)]}
        if row <= len(subplot_titles):
            fig.add_annotation(text=subplot_titles[row - 1], x=0.5, xref="paper",
                               xanchor="center", y=round(top, 12), yref="paper",
                               yanchor="bottom", showarrow=False, font={"size": 16})
    return fig
