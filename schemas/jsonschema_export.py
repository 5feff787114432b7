"""JSON Schema files generated from the pydantic models, for the platform's developers."""
from __future__ import annotations

import json
from pathlib import Path

from schemas.events import CaseEvent, ListChange
from schemas.staffing import StaffingChange

MODELS = {"case-event.schema.json": CaseEvent, "list-change.schema.json": ListChange,
          "staffing-change.schema.json": StaffingChange}


def render(model) -> str:
    schema = model.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    return json.dumps(schema, ensure_ascii=False, indent=2, sort_keys=True) + "\n"


def write_all(directory: Path) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    out = []
    for name, model in MODELS.items():
        p = directory / name
        p.write_text(render(model), encoding="utf-8")
        out.append(p)
    return out
