"""The building blocks of the OpenAPI description (``web.openapi``, ``web.openapi_stories``):
schema shorthands, query parameters, responses and the error responses of a path."""

from __future__ import annotations

from typing import Any

REF = "#/components/schemas/"


def _ref(name: str) -> dict[str, str]:
    return {"$ref": REF + name}


def _obj(properties: dict[str, Any], required: list[str] | None = None) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": properties,
        "required": list(properties) if required is None else required,
        "additionalProperties": False,
    }


def _nullable(schema: dict[str, Any]) -> dict[str, Any]:
    return {"anyOf": [schema, {"type": "null"}]}


STRING = {"type": "string"}
INTEGER = {"type": "integer"}
NUMBER = {"type": "number"}
BOOLEAN = {"type": "boolean"}
DATE_TIME = {"type": "string", "format": "date-time"}
NULLABLE_DATE_TIME = {"type": ["string", "null"], "format": "date-time"}


def _array(items: dict[str, Any]) -> dict[str, Any]:
    return {"type": "array", "items": items}


def _query_param(
    name: str, schema: dict[str, Any], description: str, **extra: Any
) -> dict[str, Any]:
    return {
        "name": name,
        "in": "query",
        "required": False,
        "schema": schema,
        "description": description,
        **extra,
    }


def _response(description: str, schema: str | None = None) -> dict[str, Any]:
    response: dict[str, Any] = {"description": description}
    if schema:
        response["content"] = {"application/json": {"schema": _ref(schema)}}
    return response


def _errors(*extra: str) -> dict[str, Any]:
    codes = {
        "400": "BadRequest",
        "401": "Unauthorized",
        "414": "UriTooLong",
        "500": "InternalError",
        "503": "Unavailable",
    }
    for code in extra:
        codes[code] = {"404": "NotFound", "304": "NotModified"}[code]
    return {code: {"$ref": f"#/components/responses/{name}"} for code, name in codes.items()}


ETAG_HEADER = {"ETag": {"schema": STRING, "description": "Weak; changes with the index."}}


def shape_params(hit_fields: tuple[str, ...]) -> list[dict[str, Any]]:
    """``/api/search``'s ``fields`` and ``highlights``: what each hit carries (by default
    everything, as in ``SearchHit``)."""
    fields = "Only these keys in each hit (id is always kept); repeat it or join names by commas."
    marks = (
        "Highlights in each hit: all (default), none (no key), or some of title, excerpt, body "
        "(asked for, they are kept even when fields= leaves highlights out)."
    )
    return [
        _query_param(name, _array({"enum": list(values)}), text, style="form", explode=True)
        for name, values, text in (
            ("fields", hit_fields, fields),
            ("highlights", ("all", "none", "title", "excerpt", "body"), marks),
        )
    ]
