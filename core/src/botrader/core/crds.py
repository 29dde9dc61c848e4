"""Manifests checked against the CustomResourceDefinitions in `crds/`, the way the
Kubernetes API server checks them: defaults applied, the structural schema (types, enums,
bounds, patterns, required fields, no undeclared fields), then the CEL rules in
`x-kubernetes-validations`. `botrader up` therefore rejects exactly what `kubectl apply`
would, with messages in the API server's words.
"""

from __future__ import annotations

import copy
import functools
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from botrader.core.errors import UserError

GROUP = "botrader.io"
FILES = {
    "TradingBot": "botrader.io_tradingbots.yaml",
    "TrainingRun": "botrader.io_trainingruns.yaml",
    "OptimizationRun": "botrader.io_optimizationruns.yaml",
}


def crd_dir() -> Path:
    """$BOTRADER_CRDS_DIR, the copy packaged with botrader-core, or the repository's crds/."""
    env = os.environ.get("BOTRADER_CRDS_DIR")
    candidates = [Path(env)] if env else []
    candidates += [Path(__file__).with_name("_crds"), Path(__file__).resolve().parents[4] / "crds"]
    for candidate in candidates:
        if (candidate / FILES["TradingBot"]).exists():
            return candidate
    raise UserError("CustomResourceDefinitions not found; set BOTRADER_CRDS_DIR to the crds/ folder")


@functools.cache
def crd(kind: str) -> dict[str, Any]:
    return yaml.safe_load((crd_dir() / FILES[kind]).read_text())


def openapi_schema(kind: str) -> dict[str, Any]:
    return crd(kind)["spec"]["versions"][0]["schema"]["openAPIV3Schema"]


def _json_schema(node: dict[str, Any]) -> dict[str, Any]:
    """OpenAPI v3 structural schema → JSON Schema draft 4 (undeclared fields rejected)."""
    out = {
        k: v for k, v in node.items() if not k.startswith("x-kubernetes") and k not in ("nullable", "default")
    }
    if node.get("nullable"):
        out["type"] = [node["type"], "null"]
    if "properties" in node:
        out["properties"] = {k: _json_schema(v) for k, v in node["properties"].items()}
        if not node.get("x-kubernetes-preserve-unknown-fields"):
            out["additionalProperties"] = False
    if "items" in node:
        out["items"] = _json_schema(node["items"])
    return out


def apply_defaults(value: Any, schema: dict[str, Any]) -> Any:
    if isinstance(value, dict) and "properties" in schema:
        for name, sub in schema["properties"].items():
            if name not in value and "default" in sub:
                value[name] = copy.deepcopy(sub["default"])
            if name in value:
                value[name] = apply_defaults(value[name], sub)
    elif isinstance(value, list) and "items" in schema:
        return [apply_defaults(v, schema["items"]) for v in value]
    return value


@dataclass(frozen=True, slots=True)
class Violation:
    """One reason a manifest is invalid, as the API server names it: the field's path, the
    cause's `reason` (FieldValueRequired, FieldValueNotSupported, FieldValueInvalid,
    FieldValueUnknown — the last is the server's strict decoding of an undeclared field),
    and the sentence."""

    field: str
    reason: str
    text: str

    def __str__(self) -> str:
        return f"{self.field}: {self.text}"


def _path(parts: Any) -> str:
    return ".".join(str(p) if not isinstance(p, int) else f"[{p}]" for p in parts).replace(".[", "[")


def _violation(error: Any) -> Violation:
    where = _path(error.absolute_path) or "<root>"
    v = error.validator
    if v == "required":
        missing = error.message.split("'")[1]
        return Violation(_path([*error.absolute_path, missing]), "FieldValueRequired", "Required value")
    if v == "enum":
        allowed = ", ".join(f'"{x}"' for x in error.validator_value)
        text = f"Unsupported value: {error.instance!r}: supported values: {allowed}"
        return Violation(where, "FieldValueNotSupported", text)
    if v == "additionalProperties":
        extra = error.message.split("'")[1]
        return Violation(
            _path([*error.absolute_path, extra]), "FieldValueUnknown", "field not declared in schema"
        )
    return Violation(where, "FieldValueInvalid", f"Invalid value: {error.instance!r}: {error.message}")


def _cel_violations(value: Any, schema: dict[str, Any], path: list[Any]) -> list[Violation]:
    import celpy

    found = []
    for rule in schema.get("x-kubernetes-validations", []):
        env = celpy.Environment()
        program = env.program(env.compile(rule["rule"]))
        try:
            ok = program.evaluate({"self": celpy.json_to_cel(value)})
        except (ValueError, OverflowError):  # an integer beyond int64, as the server's decoder says
            ok, rule = False, {**rule, "message": "a number is out of range (integers fit in 64 bits)"}
        except celpy.CELEvalError as exc:
            ok = False
            rule = {**rule, "message": rule.get("message") or str(exc)}
        if not bool(ok):
            text = f'Invalid value: "object": {rule.get("message", rule["rule"])}'
            found.append(Violation(_path(path), "FieldValueInvalid", text))
    if isinstance(value, dict):
        for name, sub in schema.get("properties", {}).items():
            if name in value:
                found += _cel_violations(value[name], sub, [*path, name])
    return found


def _duplicates(value: Any, schema: dict[str, Any], path: list[Any]) -> list[Violation]:
    """A `x-kubernetes-list-type: set` list holding a value twice (the server's
    FieldValueDuplicate, at the repeat)."""
    found = []
    if isinstance(value, list):
        if schema.get("x-kubernetes-list-type") == "set":
            seen: list[Any] = []
            for i, item in enumerate(value):
                if item in seen:
                    found.append(
                        Violation(_path([*path, i]), "FieldValueDuplicate", f"Duplicate value: {item!r}")
                    )
                seen.append(item)
        for i, item in enumerate(value):
            found += _duplicates(item, schema.get("items", {}), [*path, i])
    elif isinstance(value, dict):
        for name, sub in schema.get("properties", {}).items():
            if name in value:
                found += _duplicates(value[name], sub, [*path, name])
    return found


SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")


def name_violation(doc: dict[str, Any]) -> Violation | None:
    """metadata.name as the API server checks every custom resource's: a DNS-1123 subdomain
    (the CRD's schema says nothing about metadata; the server does)."""
    name = (doc.get("metadata") or {}).get("name") if isinstance(doc.get("metadata"), dict) else None
    if isinstance(name, str) and len(name) <= 253 and SUBDOMAIN.match(name):
        return None
    if name is None or name == "":
        return Violation("metadata.name", "FieldValueRequired", "Required value: name is required")
    text = (
        f"Invalid value: {name!r}: a lowercase RFC 1123 subdomain must consist of lower case "
        "alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character"
    )
    return Violation("metadata.name", "FieldValueInvalid", text)


def violations(doc: dict[str, Any]) -> tuple[dict[str, Any], list[Violation]]:
    """The manifest with defaults applied, and what the API server would reject it for: the
    structural schema first, then (when that passes) the CEL rules."""
    from jsonschema import Draft4Validator

    kind = doc.get("kind")
    if kind not in FILES or not str(doc.get("apiVersion", "")).startswith(f"{GROUP}/"):
        raise UserError(f"not a Botrader resource: apiVersion {doc.get('apiVersion')!r} kind {kind!r}")
    schema = openapi_schema(kind)
    named = name_violation(doc)
    if named is not None:
        return doc, [named]
    defaulted = apply_defaults(copy.deepcopy(doc), schema)
    errors = sorted(
        Draft4Validator(_json_schema(schema)).iter_errors(defaulted),
        key=lambda e: list(map(str, e.absolute_path)),
    )
    found = [_violation(e) for e in errors] + _duplicates(defaulted, schema, [])
    return defaulted, found or _cel_violations(defaulted, schema, [])


def validate(doc: dict[str, Any]) -> dict[str, Any]:
    """The manifest with defaults applied; UserError naming every violation otherwise."""
    defaulted, found = violations(doc)
    if found:
        kind, name = doc["kind"], (doc.get("metadata") or {}).get("name", "")
        plural = crd(kind)["spec"]["names"]["plural"]
        raise UserError(f'{kind}.{GROUP} "{name}" is invalid ({plural}): ' + ", ".join(map(str, found)))
    return defaulted
