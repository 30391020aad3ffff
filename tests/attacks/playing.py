"""Playing a user of the dashboard the way an attacker would: HTTP requests to the running
app's chart callbacks (``/_dash-update-component``, as the browser sends them), its ZIP
download and its JSON API, through Flask's test client; and, where the callbacks add nothing
but time, the analysis layer with the user's own ``Filters`` from ``access.filters_for``
(the one place the role and the sponsor scope become filters)."""

from __future__ import annotations

import base64
import csv
import datetime as dt
import io
import json
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from accounts.store import User
from dashboard import access
from warehouse.filters import Filters

CHART_PARTS = ("title", "subtitle", "extra", "body", "notes", "data")
DAY = dt.timedelta(days=1)


def dashboard_state(**changes: Any) -> dict[str, Any]:
    """A dashboard state as the browser's ``state`` store holds it (defaults: no filters,
    S4 from before to the end of training)."""
    state = {"audience": [], "format": [], "delivery": [], "sponsor": [], "program": [],
             "start": None, "end": None, "supervision": "any", "scale": "S4", "wf": "pre",
             "wt": "post", "by": "all"}
    state.update(changes)
    return state


@dataclass(frozen=True)
class Side:
    """One way to take a cohort in or out: the window with it, the one without, and which
    cohorts the window with it holds."""

    name: str
    with_it: dict[str, str]
    without: dict[str, str]
    holds: Callable[[Any], bool]


def sides(cohort) -> list[Side]:
    day, before, after = (cohort.start.isoformat(), (cohort.start - DAY).isoformat(),
                          (cohort.start + DAY).isoformat())
    return [Side("end", {"end": day}, {"end": before}, lambda c: c.start <= cohort.start),
            Side("start", {"start": day}, {"start": after}, lambda c: c.start >= cohort.start)]


def _outputs(output: str) -> list[dict[str, Any]]:
    out = []
    for part in output.strip(".").split("..."):
        ident, prop = part.rsplit(".", 1)
        out.append({"id": json.loads(ident) if ident.startswith("{") else ident,
                    "property": prop})
    return out


class Viewer:
    """One user of one app (``app`` made by ``create_app``), as seen from outside."""

    def __init__(self, app, user: User):
        self.app, self.user = app, user
        self.client = app.server.test_client()
        self.deps = self.client.get("/_dash-dependencies").get_json()

    # --- the analysis layer with this user's filters ---

    def filters(self, state: dict[str, Any]) -> Filters:
        return access.filters_for(state, self.app.attune.raw_options(), self.user)

    @property
    def db(self):
        return self.app.attune.db

    # --- HTTP ---

    def api(self, endpoint: str, **params: Any) -> dict[str, Any]:
        """GET /api/v1/<endpoint> with the query keys ``params`` (lists comma-joined)."""
        query = {k: ",".join(v) if isinstance(v, (list, tuple)) else v
                 for k, v in params.items() if v not in (None, "", [], ())}
        response = self.client.get(f"/api/v1/{endpoint}?{urlencode(query)}")
        assert response.status_code == 200, (endpoint, query, response.get_data(as_text=True))
        return response.get_json()

    def _dep(self, needle: str) -> dict[str, Any]:
        # the state-driven callback of a card; a page-local control's redraw of the same card
        # (the Evidence page's domain chooser) has "@" in its outputs (allow_duplicate)
        found = [d for d in self.deps if needle in d["output"] and "@" not in d["output"]]
        assert len(found) == 1, f"{needle}: {len(found)} callbacks"
        return found[0]

    def _post(self, dep: dict[str, Any], inputs: list, state: list | None = None):
        outputs = _outputs(dep["output"])
        first = dep["inputs"][0]
        ident = json.dumps(first["id"]) if isinstance(first["id"], dict) else first["id"]
        body = {
            "output": dep["output"],
            "outputs": outputs if len(outputs) > 1 or dep["output"].startswith("..")
            else outputs[0],
            "inputs": [{"id": i["id"], "property": i["property"], "value": v}
                       for i, v in zip(dep["inputs"], inputs, strict=True)],
            "state": [{"id": s["id"], "property": s["property"], "value": v}
                      for s, v in zip(dep.get("state", []), state or [], strict=True)],
            "changedPropIds": [f"{ident}.{first['property']}"],
        }
        response = self.client.post("/_dash-update-component", json=body)
        assert response.status_code == 200, response.get_data(as_text=True)[:500]
        return response.get_json()["response"]

    def chart(self, chart: str, state: dict[str, Any]) -> dict[str, Any]:
        """What the chart card ``chart`` receives for ``state``: its title, subtitle, extra,
        body, notes and data (the columns and records behind the chart and its CSV)."""
        dep = self._dep(f'{{"chart":"{chart}","type":"chart-title"}}')
        response = self._post(dep, [state])
        parts = {}
        for part in CHART_PARTS:
            key = json.dumps({"chart": chart, "type": f"chart-{part}"}, separators=(",", ":"))
            parts[part] = next(iter(response[key].values()))
        return parts

    def chart_ids(self) -> list[str]:
        """Every chart card of the app (whether or not this user's role may see it)."""
        ids = []
        for dep in self.deps:
            for out in _outputs(dep["output"]):
                ident = out["id"]
                if isinstance(ident, dict) and ident.get("type") == "chart-title":
                    ids.append(ident["chart"])
        return ids

    def page(self, path: str) -> Any:
        """The page the router sends for ``path`` (its layout, as JSON)."""
        response = self._post(self._dep("page.children"), [path], [""])
        return response["page"]["children"]

    def zip(self, state: dict[str, Any]) -> dict[str, list[dict[str, str]]]:
        """The methods page's "Download all chart data (ZIP)": each CSV of the ZIP, by chart
        id, as rows keyed by the CSV's header."""
        response = self._post(self._dep("methods-zip.data"), [1], [state])
        data = response["methods-zip"]["data"]
        archive = zipfile.ZipFile(io.BytesIO(base64.b64decode(data["content"])))
        out = {}
        for name in archive.namelist():
            lines = archive.read(name).decode("utf-8").splitlines(keepends=True)
            table = [line for line in lines if not line.startswith("#")]  # its header lines
            out[name.split("--")[0]] = list(csv.DictReader(table))
        return out

    def zip_text(self, state: dict[str, Any]) -> str:
        """Every CSV of the ZIP download, as one text (header rows included)."""
        response = self._post(self._dep("methods-zip.data"), [1], [state])
        data = response["methods-zip"]["data"]
        archive = zipfile.ZipFile(io.BytesIO(base64.b64decode(data["content"])))
        return "\n".join(archive.read(name).decode("utf-8") for name in archive.namelist())


PATHS = ("/", "/explorer", "/trends", "/attrition", "/evidence", "/quality", "/methods",
         "/console")
API_QUERIES = (
    ("outcomes", {"by": ["audience", "format"]}), ("outcomes", {"by": ["audience", "program"]}),
    ("outcomes", {"by": ["cohort_quarter"]}), ("outcomes", {"by": ["supervision", "delivery"]}),
    ("funnel", {"by": ["format"]}), ("funnel", {"by": ["audience"]}),
    ("trends", {"by": ["audience"]}),
)


def corpus_states(attack) -> list[dict[str, Any]]:
    """Dashboard states that between them hide cells of every kind: small ones, ones hidden
    to protect them, whole charts, everything (a window of one one-person cohort), a date
    window, follow-up waves and every scale."""
    own = attack.own_cohorts()
    return [
        dashboard_state(),
        dashboard_state(scale="S6", by="audience"),
        dashboard_state(scale="S8", wt="followup_3m", by="format"),
        dashboard_state(audience=["healthcare", "coach"]),
        dashboard_state(start=own[5].start.isoformat(), end=own[13].start.isoformat()),
        dashboard_state(scale="S6", wf="post", wt="followup_3m", program=["P5"]),
        dashboard_state(scale="S8", start=own[13].start.isoformat(),
                        end=own[13].start.isoformat()),
    ]


def _text(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


def collect_outputs(viewer: Viewer, states: list[dict[str, Any]]) -> list[tuple[str, str]]:
    """Everything ``viewer`` receives for these states, as ``(where, text)``: each chart
    card's callback answer (title, notes, figure with its hovers, the data behind the table
    and CSV), the ZIP download, every page the router sends, the app's layout, and the API's
    answers and OpenAPI document."""
    out = [("layout", viewer.client.get("/_dash-layout").get_data(as_text=True))]
    out += [(f"page {path}", _text(viewer.page(path))) for path in PATHS]
    for i, state in enumerate(states):
        for chart in viewer.chart_ids():
            out.append((f"state {i} chart {chart}", _text(viewer.chart(chart, state))))
        if i < 2:
            out.append((f"state {i} zip", viewer.zip_text(state)))
        for endpoint, extra in API_QUERIES:
            query = {"scale": state["scale"], "wf": state["wf"], "wt": state["wt"],
                     "audience": state["audience"], "program": state["program"],
                     "start": state["start"], "end": state["end"], **extra}
            out.append((f"state {i} api {endpoint} {extra}", _text(viewer.api(endpoint,
                                                                             **query))))
    out.append(("openapi", viewer.client.get("/api/v1/openapi.json").get_data(as_text=True)))
    return out
