"""The JSON API's OpenAPI 3.1 document, written from the declarations the handlers run on:
the query parameters (``dashboard.api_query.PARAMETERS``) and each endpoint's ``Endpoint``
entry with its answer fields (``dashboard.api.ENDPOINTS``). Nothing here is typed twice: a
new parameter or field appears in the document because the handlers use it.

The document is built per request from the asking user's scoped filter choices, so every
value it lists is one that user may send (a sponsor sees only their own sponsor id and
programmes) and every parameter it documents is accepted.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from types import ModuleType
from typing import Any

from dashboard.api_query import BY_DIMENSIONS, MAX_GROUPINGS, Parameter

PREFIX = "/api/v1"
OPENAPI_PATH = f"{PREFIX}/openapi.json"
OPENAPI_VERSION = "3.1.0"
API_VERSION = "1"
JSON = "application/json"


@dataclass(frozen=True)
class Field:
    """One number or flag of each group of an answer."""

    name: str
    kind: str  # its JSON Schema type: integer, number, string or boolean
    description: str
    nullable: bool = True  # null when the group is hidden (or the figure does not exist)

    def schema(self) -> dict[str, Any]:
        return {"type": [self.kind, "null"] if self.nullable else self.kind,
                "description": self.description}


SHOWN = Field("shown", "boolean", "False when the group is not shown (too few people, or "
              "hidden so that a small group cannot be worked out); then every figure is null.",
              nullable=False)


@dataclass(frozen=True)
class Endpoint:
    """One GET endpoint: ``answer(app_ctx, query, filters)`` gives its groups, each with the
    ``by`` keys, ``fixed_keys`` (group keys it always has), ``fields`` and ``shown``.
    ``page`` is the dashboard page whose numbers it answers: that page's roles apply."""

    name: str
    summary: str
    description: str
    fields: tuple[Field, ...]
    answer: Callable[..., list[dict[str, Any]]]
    page: ModuleType
    fixed_keys: tuple[str, ...] = ()

    @property
    def path(self) -> str:
        return f"{PREFIX}/{self.name}"

    @property
    def most_by(self) -> int:
        """How many groupings ``by`` may name here."""
        return MAX_GROUPINGS - len(self.fixed_keys)

    @property
    def group_fields(self) -> tuple[Field, ...]:
        """Every field a group may have, in the order of an answer."""
        keys = dict.fromkeys((*self.fixed_keys, *BY_DIMENSIONS))
        return (*(group_key(d) for d in keys), *self.fields, SHOWN)


def group_key(dimension: str) -> Field:
    """The field of a group's value of one ``by`` dimension."""
    return Field(dimension, "string", f"The group's {dimension}: {BY_DIMENSIONS[dimension]} "
                 "(null when the cohorts do not record it).")


def _parameter(parameter: Parameter, options: Mapping[str, Any],
               endpoint: Endpoint) -> dict[str, Any]:
    allowed = parameter.allowed(options)
    out: dict[str, Any] = {"name": parameter.key, "in": "query", "required": False,
                           "description": parameter.description}
    if parameter.is_list:
        items: dict[str, Any] = {"type": "string"}
        if allowed:
            items["enum"] = allowed
        schema: dict[str, Any] = {"type": "array", "items": items, "default": []}
        if not allowed:
            schema["maxItems"] = 0
        elif parameter.spec is None:
            schema["maxItems"] = endpoint.most_by
        out.update(style="form", explode=False)
    elif parameter.is_date:
        schema = {"type": "string", "format": "date"}
    else:
        schema = {"type": "string", "enum": allowed} if allowed else {"type": "string"}
        default = parameter.default(options)
        if default is not None:
            schema["default"] = default
    out["schema"] = schema
    return out


def _state_schema(parameters: Sequence[Parameter]) -> dict[str, Any]:
    """The ``state`` of an answer: every key with the value understood."""
    properties: dict[str, Any] = {}
    for p in parameters:
        if p.is_list:
            properties[p.key] = {"type": "array", "items": {"type": "string"}}
        elif p.is_date:
            properties[p.key] = {"type": ["string", "null"], "format": "date"}
        else:
            properties[p.key] = {"type": ["string", "null"]}
        properties[p.key]["description"] = p.description
    return {"type": "object", "description": "The query as understood: every key with its "
            "value (defaults filled in).", "properties": properties,
            "required": [p.key for p in parameters], "additionalProperties": False}


def _groups_schema(endpoint: Endpoint) -> dict[str, Any]:
    fields = endpoint.group_fields
    return {"type": "array", "description": "One entry per group, in a fixed order.",
            "items": {"type": "object", "properties": {f.name: f.schema() for f in fields},
                      "required": [*endpoint.fixed_keys, *(f.name for f in endpoint.fields),
                                   SHOWN.name],
                      "additionalProperties": False}}


def answer_schema(endpoint: Endpoint, parameters: Sequence[Parameter]) -> dict[str, Any]:
    """The JSON Schema of a 200 answer of ``endpoint``."""
    return {"type": "object", "properties": {
        "groups": _groups_schema(endpoint),
        "published": {"type": "boolean", "description": "True when disclosure control was "
                      "applied (figures for a sponsor: protected, rounded); False for roles "
                      "trusted with exact figures."},
        "state": _state_schema(parameters),
    }, "required": ["groups", "published", "state"], "additionalProperties": False}


ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "error": {"type": "string", "description": "What is wrong, in plain words."},
        "key": {"type": "string", "description": "The query key at fault."},
        "allowed": {"description": "What that key takes: the allowed keys or values, or a "
                    "sentence.", "type": ["array", "string"], "items": {}},
    },
    "required": ["error"],
    "additionalProperties": False,
}
ERRORS = {
    "400": "The query has an unknown key, a value that is not allowed, or waves in the wrong "
           "order: `key` names it and `allowed` lists what it takes.",
    "401": "No valid credentials: send a bearer token or the session cookie.",
    "403": "The account's role may not see the page these numbers come from.",
    "404": "No such endpoint.",
    "500": "The server failed; the error is in its log, never in the answer.",
    "503": "The database cannot be read just now.",
}
NO_STORE = {"Cache-Control": {"description": "Always no-store: answers hold data.",
                              "schema": {"type": "string", "const": "no-store"}}}


def _json_response(description: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"description": description, "headers": NO_STORE,
            "content": {JSON: {"schema": schema}}}


def _errors() -> dict[str, Any]:
    return {code: _json_response(text, ERROR_SCHEMA) for code, text in ERRORS.items()}


def document(endpoints: Sequence[Endpoint], parameters: Sequence[Parameter],
             options: Mapping[str, Any], session_cookie: str) -> dict[str, Any]:
    """The OpenAPI 3.1 document of ``endpoints`` for a user with these scoped ``options``;
    ``session_cookie`` is the name of the dashboard's session cookie."""
    paths: dict[str, Any] = {
        e.path: {"get": {
            "operationId": e.name, "summary": e.summary, "description": e.description,
            "parameters": [_parameter(p, options, e) for p in parameters],
            "responses": {"200": _json_response(e.summary, answer_schema(e, parameters)),
                          **_errors()},
        }} for e in endpoints}
    paths[OPENAPI_PATH] = {"get": {
        "operationId": "openapi", "summary": "This document",
        "description": "The OpenAPI document of the API, listing the values the asking "
                       "account may send.",
        "responses": {"200": _json_response("The OpenAPI 3.1 document.", {"type": "object"}),
                      **{c: r for c, r in _errors().items() if c in ("401", "500", "503")}},
    }}
    return {
        "openapi": OPENAPI_VERSION,
        "info": {"title": "Attune API", "version": API_VERSION,
                 "description": "Read-only JSON answers with the numbers the dashboard's "
                                "pages show, in the same scope and under the same "
                                "disclosure rules. Every query key is the dashboard URL's."},
        "paths": paths,
        "components": {"securitySchemes": {
            "bearer": {"type": "http", "scheme": "bearer",
                       "description": "A personal token from `attune tokens add NAME`."},
            "session": {"type": "apiKey", "in": "cookie", "name": session_cookie,
                        "description": "The dashboard's session cookie after signing in."},
        }},
        "security": [{"bearer": []}, {"session": []}],
    }
