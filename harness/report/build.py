"""``voicelane report``: read the ledger, gate the runs, write readiness.md, .json and .html."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.atomic import write_atomic
from harness.ledger import read_ledger
from harness.report import gate, htmlpage, markdown, model, plots
from harness.waivers import WaiverSet, today


@dataclass(slots=True)
class Report:
    doc: dict[str, Any]
    paths: dict[str, Path]

    @property
    def go(self) -> bool:
        return bool(self.doc["decision"]["verdict"] == "GO")


def make_report(
    ledger: Path,
    out_dir: Path,
    run_ids: list[int] | None = None,
    waivers: WaiverSet | None = None,
    *,
    html: bool = True,
) -> Report:
    """Gate ``run_ids`` (default: the latest run of each lane) and write the three files into ``out_dir``."""
    from harness.schemas import schema_errors

    read = read_ledger(ledger)
    entries = gate.select(read.entries, run_ids)
    gated = [gate.load(e, ledger) for e in entries]
    decision = gate.decide(gated, waivers, today())
    doc = model.build(ledger, read, gated, decision, waivers)
    errors = schema_errors("readiness/1", doc)
    if errors:  # our own output breaking our own contract is a harness bug: stop, exit 3
        raise RuntimeError("readiness.json would not match readiness/1: " + "; ".join(errors))
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {"md": out_dir / "readiness.md", "json": out_dir / "readiness.json"}
    write_atomic(paths["json"], json.dumps(doc, indent=2, sort_keys=True, ensure_ascii=False) + "\n")
    write_atomic(paths["md"], markdown.render(doc))
    if html:
        pictures = {g.run_id: plots.run_pictures(g.run) for g in gated if g.run is not None}
        paths["html"] = out_dir / "readiness.html"
        write_atomic(paths["html"], htmlpage.render(doc, pictures))
    return Report(doc, paths)
