"""The check kinds' documentation, generated from the registry (never written by hand).

Each kind's docstring ("Passes when ... / Not applicable when ... / Params: ...") and its params
model (types, defaults, descriptions) make the check-kind table of the packs README and the kind
part of `complianceguard rules show CODE`. `complianceguard rules kinds --write README` rewrites the
table between its markers; a test keeps the README's copy equal to it.
"""

from __future__ import annotations

from typing import Any

from complianceguard.packs.kinds import CHECKS, CheckKind

START, END = "<!-- check-kinds:start -->", "<!-- check-kinds:end -->"


def _words(prop: dict[str, Any], defs: dict[str, Any]) -> str:
    """A JSON Schema property in a reader's words: `bool`, `seconds`, `list of channel lists`, ..."""
    options = [p for p in prop.get("anyOf", [prop]) if p.get("type") != "null"]
    return " or ".join(_one(p, defs) for p in options)


def _one(prop: dict[str, Any], defs: dict[str, Any]) -> str:
    if "const" in prop:
        return f"`{prop['const']}`"
    if "enum" in prop:
        return " or ".join(f"`{v}`" for v in prop["enum"])
    if "$ref" in prop:
        return prop["$ref"].rpartition("/")[2].lower()
    kind = prop.get("type")
    if kind == "array":
        items = prop.get("items", {})
        if items.get("type") == "array":
            return "list of channel lists" if "enum" in items.get("items", {}) else "list of lists"
        inner = _one(items, defs) if items else ""
        return "list of tiers" if inner == "tier" else "list" if inner in ("text", "") else f"list of {inner}"
    words = {"boolean": "bool", "integer": "int", "number": "number", "string": "text", "object": "map"}
    return words.get(kind or "", kind or "any")


def _literal(value: Any) -> str:
    return "true" if value is True else "false" if value is False else str(value)


def param_docs(kind: CheckKind) -> list[str]:
    """One line per param: "`name` (type, default x): what it does"."""
    schema = kind.params.model_json_schema()
    defs = schema.get("$defs", {})
    lines = []
    for name, field in kind.params.model_fields.items():
        words = _words(schema["properties"][name], defs)
        if words == "number" and name.endswith("_s"):
            words = "seconds"
        if field.is_required():
            words += ", required"
        elif field.default_factory is not None:
            words += ", default empty"
        elif field.default is not None:
            words += f", default `{_literal(field.default)}`"
        lines.append(f"`{name}` ({words}): {field.description or ''}".rstrip(": "))
    return lines


def kinds_markdown() -> str:
    """The check-kind table as Markdown, between the markers the README keeps it in."""
    lines = [START, "", "| kind | family | passes when | not applicable when | params |",
             "| --- | --- | --- | --- | --- |"]
    for name, kind in CHECKS.items():
        doc = kind.doc
        params = "; ".join(param_docs(kind))
        summary = doc.get("Params:", "")
        cell = f"{summary} {params}".strip() if params else "—"
        cells = [f"`{name}`", kind.family, doc.get("Passes when", ""), doc.get("Not applicable when", ""), cell]
        lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    lines += ["", END]
    return "\n".join(lines)



def kind_text(kind: CheckKind, indent: str = "  ") -> str:
    """A kind's documentation as plain text, for `rules show`."""
    doc = kind.doc
    lines = [f"{indent}Passes when {doc.get('Passes when', '')}",
             f"{indent}Not applicable when {doc.get('Not applicable when', '')}",
             f"{indent}Params: {doc.get('Params:', '')}"]
    lines += [f"{indent}  {line.replace('`', '')}" for line in param_docs(kind)]
    return "\n".join(lines)
