"""The contracts themselves: schemas are valid 2020-12, $refs resolve offline, the catalogue is sound."""

from __future__ import annotations

import json
import re

import pytest
from jsonschema import Draft202012Validator

from contracts import SCHEMA_FILES, load_catalogue, load_schema, schema_id
from harness.catalogue import SCOPES, rules
from harness.render import rules_markdown
from harness.schemas import schema_errors
from tests.conftest import ROOT

DOTTIE_BUNDLE = {
    "bundle_version": "voice_bundle/1",
    "voice_profile_id": "dottie_default",
    "display_name": "Dottie",
    "created_at": "2026-02-23T00:00:00Z",
    "files": [
        {"path": "model.bin", "sha256": "a" * 64, "bytes": 1234},
        {"path": "sample.wav", "sha256": "b" * 64, "bytes": 4321},
    ],
}
DOTTIE_STATUS = {
    "job_type": "tts_prod_train",
    "state": "completed",
    "progress": {"current": 100, "total": 100},
    "stats": {"dataset_items": 1, "bundle_valid": True},
    "artifacts": ["bundles/dottie_default/voice_bundle/manifest.json"],
}


@pytest.mark.parametrize("contract", sorted(SCHEMA_FILES))
def test_schema_is_valid_2020_12_with_id(contract: str) -> None:
    schema = load_schema(contract)
    Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["$id"] == schema_id(contract)
    assert contract.rsplit("/", 1)[1].isdigit(), "contract names carry their version"


def test_every_ref_resolves_offline() -> None:
    for contract in SCHEMA_FILES:
        text = json.dumps(load_schema(contract))
        for ref in re.findall(r'"\$ref": "([^"]+)"', text):
            assert ref.startswith(("#", "https://voicelane.dev/contracts/")), ref
        schema_errors(contract, {})  # resolving every $ref would raise if one pointed nowhere


def test_existing_documents_stay_valid() -> None:
    assert schema_errors("voice_bundle/1", DOTTIE_BUNDLE) == []
    assert schema_errors("train_status/1", DOTTIE_STATUS) == []


@pytest.mark.parametrize(
    ("contract", "doc", "needle"),
    [
        ("voice_bundle/1", {**DOTTIE_BUNDLE, "bundle_version": "voice_bundle/2"}, "bundle_version"),
        ("voice_bundle/1", {**DOTTIE_BUNDLE, "created_at": "2026-02-23"}, "created_at"),
        ("voice_bundle/1", {**DOTTIE_BUNDLE, "files": [{"path": "a", "sha256": "A" * 64, "bytes": 1}]}, "sha256"),
        ("voice_bundle/1", {**DOTTIE_BUNDLE, "licenses": {"commercial_use_allowed": "yes"}}, "commercial_use_allowed"),
        ("train_status/1", {**DOTTIE_STATUS, "state": "finished"}, "state"),
        ("train_status/1", {"job_type": "x", "state": "completed"}, "progress"),
        ("train_status/1", {"job_type": "x", "state": "error"}, "error"),
        ("train_status/1", {"job_type": "x", "state": "blocked", "error": {"code": "c"}}, "message"),
        ("train_status/1", {**DOTTIE_STATUS, "stats": {"loss": "low"}}, "loss"),
        (
            "dataset_manifest/1",
            {"manifest_version": "dataset_manifest/1", "entries": [{"text": "a"}]},
            "audio_filepath",
        ),
        (
            "dataset_manifest/1",
            {"manifest_version": "dataset_manifest/1", "entries": [], "sample_rate": 0},
            "sample_rate",
        ),
    ],
)
def test_schema_rejects(contract: str, doc: dict, needle: str) -> None:
    errors = schema_errors(contract, doc)
    assert errors and needle in " ".join(errors)


def test_required_keys_are_exactly_the_named_ones() -> None:
    assert load_schema("voice_bundle/1")["required"] == [
        "bundle_version",
        "voice_profile_id",
        "display_name",
        "created_at",
        "files",
    ]
    assert load_schema("train_status/1")["required"] == ["job_type", "state"]
    assert load_schema("dataset_manifest/1")["required"] == ["manifest_version", "entries"]
    assert load_schema("dataset_manifest/1")["$defs"]["entry"]["required"] == ["audio_filepath", "text", "duration"]


def test_catalogue_is_well_formed() -> None:
    raw = load_catalogue()
    ids = [r["id"] for r in raw]
    assert len(ids) == len(set(ids)), "rule ids are unique"
    pairs = [(r["scope"], r["code"]) for r in raw]
    assert len(pairs) == len(set(pairs)), "a code means one thing within a scope"
    prefixes = {"protocol": "PROTO-", "status": "STATUS-", "dataset": "DATASET-", "bundle": "BUNDLE-", "lane": "LANE-"}
    for r in rules():
        assert r.scope in SCOPES
        assert r.id.startswith(prefixes[r.scope])
        assert re.fullmatch(r"[a-z][a-z0-9_]*", r.code)
        assert r.severity in ("hard", "soft")
        assert r.description and r.remediation


def test_docs_rules_md_is_generated_from_the_catalogue() -> None:
    assert (ROOT / "docs" / "rules.md").read_text() == rules_markdown(), (
        "run: voicelane rules --format md > docs/rules.md"
    )
