"""The JSON API kit: routes that declare their input model, body parsing, and OpenAPI."""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from annotated_types import MinLen
from pydantic import (
    BaseModel,
    ConfigDict,
    TypeAdapter,
    ValidationError,
    ValidationInfo,
    create_model,
    field_validator,
)
from pydantic.json_schema import GenerateJsonSchema, JsonSchemaValue
from pydantic_core import PydanticCustomError, core_schema
from sqlalchemy import Column, Table
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from campus.web.auth import PUBLIC, guard
from campus.web.problems import InvalidInput, Problem

Endpoint = Callable[[Request], Awaitable[Response]]
MAX_BODY_BYTES = 5 * 1024 * 1024
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
INT64 = (-(2**63), 2**63 - 1)  # what a store column holds: larger integers are refused with 422
M = TypeVar("M", bound=BaseModel)


class Input(BaseModel):
    """Base of every request body: strict types (no float for an int, no "1" for 1), no extras.

    Lengths and patterns hold for the text as sent (as the published schema says); the text is then
    stripped of leading and trailing spaces, and a required text (``min_length`` 1 or more) that
    was only spaces is refused as blank, which the schema publishes as the pattern ``\\S``."""

    model_config = ConfigDict(strict=True, extra="forbid")

    @field_validator("*", mode="after")
    @classmethod
    def _stripped(cls, value: Any, info: ValidationInfo) -> Any:
        stripped = _strip(value)
        if type(value) is str and value and not stripped and info.field_name is not None:
            field_info = cls.model_fields[info.field_name]
            if any(isinstance(m, MinLen) and m.min_length > 0 for m in field_info.metadata):
                raise PydanticCustomError("blank", "must not be blank")
        return stripped


def _strip(value: Any) -> Any:
    if type(value) is str:  # not a StrEnum member
        return value.strip()
    if isinstance(value, list):
        return [_strip(item) for item in value]
    if isinstance(value, dict):
        return {key: _strip(item) for key, item in value.items()}
    return value


class Output(BaseModel):
    """Base of every response model: it only describes what a route answers (routes build plain
    dicts), for the OpenAPI; a field it does not name is a fault the schema check finds."""

    model_config = ConfigDict(extra="forbid")


def _column_field(column: Column[Any]) -> tuple[Any, Any]:
    python = column.type.python_type
    return (python | None, None) if column.nullable else (python, ...)  # a null column may be left out


def row_model(table: Table, name: str, /, exclude: tuple[str, ...] = (), **fields: Any) -> type[Output]:
    """The response model of ``table``'s row as a route returns it: every column (but ``exclude``)
    with its type, required unless nullable (null or left out); ``fields`` (name: type, or (type,
    default) for a key only some answers carry) add to or refine the columns (an enum for a code
    column, the keys a query adds)."""
    columns = {c.name: _column_field(c) for c in table.columns if c.name not in exclude}
    extra = {key: value if isinstance(value, tuple) else (value, ...) for key, value in fields.items()}
    return create_model(name, __base__=Output, **{**columns, **extra})  # type: ignore[call-overload]


def page_model(item: Any, name: str) -> type[Output]:
    """``{"total", "limit", "offset", "items": [item…]}``: one page of a list (see :func:`page_params`)."""
    return create_model(name, __base__=Output, total=(int, ...), limit=(int, ...),
                        offset=(int, ...), items=(list[item], ...))


def items_model(item: Any, name: str) -> type[Output]:
    """``{"items": [item…]}``: a whole list."""
    return create_model(name, __base__=Output, items=(list[item], ...))


def _field_name(location: tuple[Any, ...]) -> str:
    return ".".join(str(part) for part in location) or "body"


def out_of_range(value: Any, at: tuple[Any, ...] = ()) -> list[dict[str, str]]:
    """Every integer in a JSON value that no 64-bit column can hold, by field name."""
    if isinstance(value, dict):
        return [e for key, item in value.items() for e in out_of_range(item, (*at, key))]
    if isinstance(value, list):
        return [e for i, item in enumerate(value) for e in out_of_range(item, (*at, i))]
    if isinstance(value, int) and not isinstance(value, bool) and not INT64[0] <= value <= INT64[1]:
        return [{"field": _field_name(at), "message": "a whole number between -2^63 and 2^63-1"}]
    return []


class CampusJsonSchema(GenerateJsonSchema):
    """JSON Schema as the server enforces it: every integer within 64 bits."""

    def int_schema(self, schema: core_schema.IntSchema) -> JsonSchemaValue:
        made = super().int_schema(schema)
        made.setdefault("minimum", INT64[0])
        made.setdefault("maximum", INT64[1])
        return made

    def str_schema(self, schema: core_schema.StringSchema) -> JsonSchemaValue:
        made = super().str_schema(schema)
        if made.get("minLength", 0) > 0 and "pattern" not in made:
            made["pattern"] = r"\S"  # Input refuses a required text that is only spaces
        return made


async def parse_body(request: Request, model: type[M]) -> M:
    """Read a JSON body into ``model``; any fault becomes a 4xx problem naming the field."""
    raw = await request.body()
    if len(raw) > MAX_BODY_BYTES:
        raise Problem(413, f"body larger than {MAX_BODY_BYTES} bytes")
    content_type = request.headers.get("content-type", "")
    if raw and "json" not in content_type:
        raise Problem(415, "send the body as application/json", errors=[{"field": "body", "message": "not JSON"}])
    try:
        payload = json.loads(raw or b"null")
    except (ValueError, UnicodeDecodeError) as exc:
        raise Problem(
            400,
            f"body is not valid JSON: {exc}",
            title="Malformed JSON",
            type_="/problems/malformed-json",
            errors=[{"field": "body", "message": str(exc)}],
        ) from None
    if not isinstance(payload, dict):
        raise InvalidInput([{"field": "body", "message": "expected a JSON object"}])
    too_large = out_of_range(payload)
    if too_large:
        raise InvalidInput(too_large)
    try:
        return model.model_validate(payload)
    except ValidationError as exc:
        raise InvalidInput(
            [{"field": _field_name(e["loc"]), "message": e["msg"]} for e in exc.errors()]
        ) from None


MONTH = re.compile(r"^(19|20)\d{2}-(0[1-9]|1[0-2])$")


def month_span(params: Any, default: str) -> tuple[str, str]:
    """``?from=YYYY-MM&to=YYYY-MM`` (``from`` defaults to ``default``, ``to`` to ``from``), or 422
    naming the parameter."""
    start = params.get("from") or default
    end = params.get("to") or start
    for name, value in (("from", start), ("to", end)):
        if not MONTH.match(value):
            raise InvalidInput([{"field": name, "message": "a month like 2026-12"}])
    if start > end:
        raise InvalidInput([{"field": "to", "message": "must not be before from"}])
    return start, end


def page_params(request: Request) -> tuple[int, int]:
    """``limit`` (1–500, default 50) and ``offset`` from the query string, or 422 naming them."""
    errors = []
    values = {}
    for name, default, ceiling in (("limit", 50, 500), ("offset", 0, None)):
        raw = request.query_params.get(name, str(default))
        if not raw.isdigit() or (ceiling is not None and not 1 <= int(raw) <= ceiling):
            errors.append({"field": name, "message": f"must be an integer{f' from 1 to {ceiling}' if ceiling else ' >= 0'}"})
        else:
            values[name] = int(raw)
    if errors:
        raise InvalidInput(errors)
    return values["limit"], values["offset"]


async def uploaded_file(request: Request) -> UploadFile:
    """The spreadsheet posted as multipart/form-data in the field ``file``, or a 4xx naming it."""
    if not request.headers.get("content-type", "").startswith("multipart/form-data"):
        raise Problem(415, "upload the file as multipart/form-data in the field 'file'",
                      errors=[{"field": "file", "message": "missing"}])
    form = await request.form(max_files=1, max_fields=10)
    upload = form.get("file")
    if not isinstance(upload, UploadFile) or not upload.filename:
        raise InvalidInput([{"field": "file", "message": "attach a .csv or .xlsx file"}])
    return upload


def json_response(payload: Any, status: int = 200) -> JSONResponse:
    return JSONResponse(payload, status_code=status)


@dataclass
class Operation:
    path: str
    method: str
    summary: str
    action: str
    body: type[BaseModel] | None
    tags: list[str]
    response: Any = None


def openapi_path(path: str) -> str:
    """``/moves/{move:str}`` as OpenAPI writes it: ``/moves/{move}``."""
    return re.sub(r"\{(\w+):\w+\}", r"{\1}", path)


@dataclass
class Api:
    """Collects ``/api/v1`` routes with what OpenAPI needs to describe them."""

    title: str
    version: str
    operations: list[Operation] = field(default_factory=list)
    routes: list[Route] = field(default_factory=list)

    def route(
        self, path: str, method: str, summary: str, action: str, body: type[BaseModel] | None = None,
        tags: list[str] | None = None, response: Any = None,
    ) -> Callable[[Endpoint], Endpoint]:
        """Register an endpoint behind the permission check for ``action``; ``response``: the type
        of its JSON answer (an :class:`Output` model), published as the success schema."""

        def register(endpoint: Endpoint) -> Endpoint:
            self.operations.append(Operation(path, method.upper(), summary, action, body, tags or [], response))
            self.routes.append(Route(path, guard(action, endpoint), methods=[method.upper()]))
            return endpoint

        return register

    def openapi(self) -> dict[str, Any]:
        paths: dict[str, dict[str, Any]] = {}
        schemas: dict[str, Any] = {}
        for op in self.operations:
            problem = {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}
            entry: dict[str, Any] = {
                "summary": op.summary,
                "tags": op.tags,
                "x-campus-action": op.action,
                "responses": {
                    "4XX": {"description": "refused: RFC 9457 problem details naming the field", "content": problem},
                    "default": {"description": "error", "content": problem},
                },
            }
            if op.action != PUBLIC:
                entry["security"] = [{"bearer": []}]
            # 200 or 201 (created); a file download names its own type
            media = XLSX if op.path.endswith(".xlsx") else "application/json"
            entry["responses"]["2XX"] = {"description": "success", "content": {media: self._schema_of(op, schemas)}}
            if op.body is not None:
                schema = op.body.model_json_schema(ref_template="#/components/schemas/{model}",
                                                   schema_generator=CampusJsonSchema)
                schemas.update(schema.pop("$defs", {}))
                schemas[op.body.__name__] = schema
                entry["requestBody"] = {
                    "required": True,
                    "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{op.body.__name__}"}}},
                }
            params = [part[1:-1] for part in op.path.split("/") if part.startswith("{")]
            if params:
                entry["parameters"] = [
                    {"name": name.split(":")[0], "in": "path", "required": True, "schema": {"type": "string"}}
                    for name in params
                ]
            paths.setdefault("/api/v1" + openapi_path(op.path), {})[op.method.lower()] = entry
        schemas["Problem"] = {
            "type": "object",
            "description": "RFC 9457 problem details",
            "required": ["type", "title", "status"],
            "properties": {
                "type": {"type": "string"},
                "title": {"type": "string"},
                "status": {"type": "integer"},
                "detail": {"type": "string"},
                "instance": {"type": "string"},
                "errors": {
                    "type": "array",
                    "items": {"type": "object", "properties": {"field": {"type": "string"}, "message": {"type": "string"}}},
                },
            },
        }
        return {
            "openapi": "3.1.0",
            "info": {"title": self.title, "version": self.version},
            "paths": paths,
            "components": {"schemas": schemas,
                           "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
        }

    @staticmethod
    def _schema_of(op: Operation, schemas: dict[str, Any]) -> dict[str, Any]:
        """The success answer's media-type object: its schema, when the route declares one."""
        if op.response is None:
            return {}
        made = TypeAdapter(op.response).json_schema(ref_template="#/components/schemas/{model}",
                                                    schema_generator=CampusJsonSchema, mode="serialization")
        for name, definition in made.pop("$defs", {}).items():
            if schemas.setdefault(name, definition) != definition:
                raise ValueError(f"two response models are named {name}")
        if isinstance(op.response, type) and issubclass(op.response, BaseModel):
            name = op.response.__name__
            if schemas.setdefault(name, made) != made:
                raise ValueError(f"two response models are named {name}")
            return {"schema": {"$ref": f"#/components/schemas/{name}"}}
        return {"schema": made}

    def openapi_route(self) -> Route:
        published: list[bytes] = []  # built at the first request, when every route is registered

        async def openapi(_request: Request) -> Response:
            if not published:
                published.append(bytes(JSONResponse(self.openapi()).body))
            return Response(published[0], media_type="application/json")

        return Route("/openapi.json", guard(PUBLIC, openapi), methods=["GET"])
