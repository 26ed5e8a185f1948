"""The voicelane contracts, as data.

This package holds JSON Schemas (Draft 2020-12), the protocol grammar and the
rule catalogue. It ships inside the wheel so that an installed harness checks
against exactly the contracts it was released with. Code here only *loads*
the data; every decision lives in ``harness``.
"""

from __future__ import annotations

import json
import tomllib
from functools import cache
from importlib import resources
from typing import Any

SCHEMA_BASE = "https://voicelane.dev/contracts/"

#: Contract name -> schema file. The contract name is also the path of its ``$id``.
SCHEMA_FILES: dict[str, str] = {
    "common/1": "common.schema.json",
    "stats/1": "stats.schema.json",
    "train_status/1": "train_status.schema.json",
    "dataset_manifest/1": "dataset_manifest.schema.json",
    "voice_bundle/1": "voice_bundle.schema.json",
    "certificate/1": "certificate.schema.json",
    "ledger_entry/1": "ledger_entry.schema.json",
    "readiness/1": "readiness.schema.json",
    "lane_spec/1": "lane_spec.schema.json",
}


def _read(name: str) -> bytes:
    return resources.files(__name__).joinpath(name).read_bytes()


def schema_id(contract: str) -> str:
    """The ``$id`` URI of a contract such as ``voice_bundle/1``."""
    return SCHEMA_BASE + contract


@cache
def load_schema(contract: str) -> dict[str, Any]:
    """The parsed JSON Schema of ``contract`` (for example ``train_status/1``)."""
    schema: dict[str, Any] = json.loads(_read("schemas/" + SCHEMA_FILES[contract]))
    return schema


@cache
def load_catalogue() -> list[dict[str, Any]]:
    """The rule catalogue, in catalogue order, as plain dicts."""
    rules: list[dict[str, Any]] = tomllib.loads(_read("rules.toml").decode("utf-8"))["rule"]
    return rules


def contract_files() -> list[tuple[str, bytes]]:
    """Every contract file (schemas, catalogue, grammar) as (name, bytes), sorted by name.

    The certificate digests these so that a report says which contracts judged it.
    """
    names = ["rules.toml", "protocol.md", *("schemas/" + f for f in SCHEMA_FILES.values())]
    return [(name, _read(name)) for name in sorted(names)]
