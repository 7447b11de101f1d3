"""API の説明 (/docs): a reference page rendered on the server from the app's own OpenAPI document.

FastAPI's Swagger UI and ReDoc pages load their scripts from outside hosts, and start with an
inline script; the app's CSP (script-src 'self') blocks both, and an LGWAN machine cannot reach the
hosts anyway. The vendored bundles (fastapi-offline, swagger-ui-bundle) still need that inline
start-up script, and ReDoc injects style elements the CSP refuses. So the reference is plain HTML
from ``app.openapi()``: no script at all, the same operations, parameters, bodies and answers.
``/redoc`` leads here; ``/openapi.json`` stays for programs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from tsunagu.web.deps import render
from tsunagu.web.state import AppState

router = APIRouter(include_in_schema=False)
METHODS = ("get", "post", "put", "patch", "delete")
PLACES = {"path": "パス", "query": "クエリ", "header": "ヘッダー", "cookie": "Cookie"}
TYPES = {"string": "文字列", "integer": "整数", "number": "数値", "boolean": "真偽値", "array": "配列", "object": "オブジェクト",
         "null": "なし"}


@dataclass(frozen=True)
class Field:
    name: str
    kind: str
    required: bool
    note: str = ""


@dataclass
class Operation:
    method: str
    path: str
    summary: str
    description: str
    tag: str
    parameters: list[tuple[Field, str]] = field(default_factory=list)  # field, where
    body: list[Field] = field(default_factory=list)
    body_name: str = ""
    answers: list[tuple[str, str, str]] = field(default_factory=list)  # status, description, schema name


def _kind(schema: dict[str, Any]) -> str:
    if "$ref" in schema:
        return str(schema["$ref"]).rsplit("/", 1)[-1]
    if "anyOf" in schema:
        return " または ".join(_kind(s) for s in schema["anyOf"])
    if schema.get("type") == "array":
        return f"{_kind(schema.get('items', {}))} の配列"
    if "enum" in schema:
        return "次のいずれか: " + "・".join(str(v) for v in schema["enum"])
    return TYPES.get(str(schema.get("type", "")), str(schema.get("type", "任意")))


def _fields(schema: dict[str, Any], components: dict[str, Any]) -> tuple[str, list[Field]]:
    name = ""
    if "$ref" in schema:
        name = str(schema["$ref"]).rsplit("/", 1)[-1]
        schema = components.get(name, {})
    required = set(schema.get("required", ()))
    return name, [Field(key, _kind(value), key in required, str(value.get("description", "")))
                  for key, value in schema.get("properties", {}).items()]


def operations(spec: dict[str, Any]) -> list[Operation]:
    components = spec.get("components", {}).get("schemas", {})
    found = []
    for path, methods in spec.get("paths", {}).items():
        for method in METHODS:
            op = methods.get(method)
            if op is None:
                continue
            item = Operation(method.upper(), path, op.get("summary", ""), op.get("description", ""),
                             (op.get("tags") or ["その他"])[0])
            for p in op.get("parameters", ()):
                item.parameters.append((Field(p["name"], _kind(p.get("schema", {})), bool(p.get("required")),
                                              str(p.get("description", ""))), PLACES.get(p.get("in", ""), "")))
            body = op.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema")
            if body:
                item.body_name, item.body = _fields(body, components)
            for status, answer in op.get("responses", {}).items():
                schema = answer.get("content", {}).get("application/json", {}).get("schema", {})
                description = answer.get("description", "")
                if description == "Successful Response":
                    description = "成功"
                item.answers.append((status, description, _kind(schema) if "$ref" in schema else ""))
            found.append(item)
    return found


@router.get("/docs")
def api_reference(request: Request) -> Response:
    state: AppState = request.app.state.tsunagu
    spec = request.app.openapi()
    components = spec.get("components", {}).get("schemas", {})
    schemas = {name: _fields({"$ref": f"#/components/schemas/{name}"}, components)[1] for name in sorted(components)}
    return render(request, state, "api_docs.html", info=spec.get("info", {}), ops=operations(spec), schemas=schemas)


@router.get("/redoc")
def redoc() -> Response:
    return RedirectResponse("/docs", status_code=307)
