"""pytest plugin: every rule of a lane run becomes a test item, and lane authors get fixtures.

``pytest --voicelane lanes/NAME.toml`` (repeatable) adds one item per
catalogue rule per lane, with the node id ``<lane>::<RULE-ID>`` (for example
``reference::BUNDLE-checksum``). The lane runs once, in-process through
``harness.run.run_lane``, when the first of its items runs; the result is
cached on the session's config, so under xdist a lane runs at most once per
worker (``--dist loadscope`` or ``loadfile`` keeps a lane's items on one
worker, so it runs exactly once).

Outcomes follow the readiness gate: a failed hard rule fails with its
message and remediation; a failed soft rule passes with a
``VoicelaneWarning``; a skipped rule is a pytest skip with its reason, so a
skip never reads as a pass; a rule that could not be evaluated, or a
mandatory rule the run did not report, fails. ``--junitxml`` then has one
testcase per rule whose failure text starts with ``RULE-ID [code]``.

Items are known before the lane runs (they are the catalogue), so collection
is instant and identical on every xdist worker.

Fixtures: ``voicelane_run(spec)`` returns the cached ``LaneRun`` of a spec,
``voicelane_lanes`` the specs given with ``--voicelane``, and
``voicelane_snapshot`` is syrupy's ``snapshot`` with the JSON extension, for
``assert run.normalized() == voicelane_snapshot`` (``--snapshot-update``
refreshes it; the format is the one ``voicelane run --snapshot-dir`` writes).

The plugin is loaded for every pytest run once voicelane is installed (the
``pytest11`` entry point), so it imports nothing beyond pytest at start-up
and does nothing unless ``--voicelane`` is given or a fixture is used.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from harness.cases import Case
    from harness.results import Result
    from harness.run.spec import LaneSpec


class VoicelaneWarning(UserWarning):
    """A soft rule failed: reported, never blocking."""


class RuleFailed(Exception):
    """A hard rule failed (the text is the whole report)."""


class RuleError(Exception):
    """A rule could not be evaluated, or the lane could not be run."""


@dataclass(slots=True)
class LaneRun:
    """One run of a lane: its spec, run folder and ``result.json`` document (or why it could not run)."""

    spec: LaneSpec
    run_dir: Path | None
    doc: dict[str, Any]
    error: str | None = None

    @property
    def verdict(self) -> str:
        return str(self.doc.get("verdict", "ERROR"))

    @property
    def results(self) -> list[Result]:
        from harness.results import Result

        return [Result.from_dict(r) for r in self.doc.get("results", [])]

    def cases(self) -> dict[str, Case]:
        from harness.cases import group

        return {c.id: c for c in group(self.doc.get("results", []))}

    def case(self, rule_id: str) -> Case:
        from harness.cases import missing

        return self.cases().get(rule_id) or missing(rule_id)

    def outcomes(self) -> dict[str, str]:
        """Rule id to outcome (pass, fail, warn, error, skip): stable across machines, good to snapshot."""
        return {rid: c.outcome for rid, c in self.cases().items()}

    def normalized(self) -> dict[str, Any]:
        """The run with volatile fields masked, as ``voicelane run --snapshot-dir`` stores it."""
        from harness.run.runner import Attempt
        from harness.run.snapshots import build_snapshot

        if self.run_dir is None:
            raise RuleError(f"lane {self.spec.name} has no run folder: {self.error}")
        exit_code = (self.doc.get("run") or {}).get("exit_code")
        return build_snapshot(
            self.spec, Attempt(index=1, dir=self.run_dir, out_dir=self.run_dir / "out", exit_code=exit_code)
        )


_RUNS = pytest.StashKey[dict[Path, LaneRun]]()
_SPECS = pytest.StashKey[list[Path]]()
_RUN_DIRS = pytest.StashKey[dict[str, str]]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("voicelane", "voicelane lane conformance")
    group.addoption(
        "--voicelane",
        action="append",
        default=[],
        metavar="SPEC",
        dest="voicelane_specs",
        help="run this lane spec once and add one test item per rule (<lane>::<RULE-ID>); repeatable",
    )
    group.addoption(
        "--voicelane-out",
        metavar="DIR",
        dest="voicelane_out",
        help="put run folders under DIR (default: pytest's temporary folder)",
    )
    group.addoption(
        "--voicelane-ledger",
        metavar="FILE",
        dest="voicelane_ledger",
        help="certify each run and append it to this ledger (for a later `voicelane report`)",
    )


def _resolve(config: pytest.Config, spec: str | Path) -> Path:
    path = Path(spec)
    return (path if path.is_absolute() else config.invocation_params.dir / path).resolve()


def pytest_configure(config: pytest.Config) -> None:
    specs = config.getoption("voicelane_specs", default=None) or []
    config.stash[_SPECS] = [_resolve(config, s) for s in specs]
    config.stash[_RUNS] = {}
    config.stash[_RUN_DIRS] = {}
    if specs:
        config.addinivalue_line("markers", "voicelane: one rule of a lane run (added by --voicelane)")
        config.pluginmanager.register(_RunFolders(), "voicelane-run-folders")


def _load(path: Path) -> LaneSpec:
    from harness.run.spec import SpecError, load_spec

    try:
        return load_spec(path)
    except SpecError as exc:
        raise pytest.UsageError(f"--voicelane: {exc}") from None


def pytest_report_header(config: pytest.Config) -> list[str]:
    specs = config.stash.get(_SPECS, [])
    return [f"voicelane lanes: {', '.join(str(p) for p in specs)}"] if specs else []


class LaneCollector(pytest.Collector):
    """One lane: its items are the catalogue's rules, in catalogue order."""

    def __init__(self, *, spec: LaneSpec, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.spec = spec

    def collect(self) -> list[pytest.Item]:
        from harness.catalogue import rules

        return [RuleItem.from_parent(self, name=r.id, rule_id=r.id) for r in rules()]


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config, items: list[pytest.Item]) -> None:
    """Add the lanes' items before -k, -m and --deselect filter the list."""
    specs = [_load(p) for p in config.stash.get(_SPECS, [])]
    seen: dict[str, Path] = {}
    for spec in specs:
        if spec.name in seen and seen[spec.name] != spec.path:
            raise pytest.UsageError(f"--voicelane: {seen[spec.name]} and {spec.path} both name lane {spec.name!r}")
        if spec.name in seen:
            continue
        seen[spec.name] = spec.path
        lane = LaneCollector.from_parent(session, name=spec.name, nodeid=spec.name, path=spec.path, spec=spec)
        items.extend(session.genitems(lane))  # through the collect hooks, so reporters count the items


class RuleItem(pytest.Item):
    """One rule of one lane run."""

    def __init__(self, *, rule_id: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.rule_id = rule_id
        self.add_marker("voicelane")

    @property
    def lane(self) -> LaneCollector:
        assert isinstance(self.parent, LaneCollector)
        return self.parent

    def runtest(self) -> None:
        run = lane_run(self.config, self.lane.spec.path)
        if run.run_dir is not None:
            self.user_properties.append(("voicelane_run_dir", str(run.run_dir)))
        if run.error is not None:
            raise RuleError(f"{self.rule_id}: the lane {run.spec.name} could not be run: {run.error}")
        case = run.case(self.rule_id)
        self.user_properties += [("code", case.code), ("severity", case.severity)]
        head = f"{case.id} [{case.code}]"
        if case.outcome == "fail":
            raise RuleFailed(f"{head} failed (hard rule): {case.message}\n{case.details()}")
        if case.outcome == "error":
            raise RuleError(f"{head} could not be evaluated: {case.message}\n{case.details()}")
        if case.outcome == "skip":
            _skip(f"{head} skipped: {case.message}")
        if case.outcome == "warn":
            text = f"{head} failed (soft rule): {case.details()}"
            self.user_properties.append(("voicelane_warning", text))
            # Attributed to the lane spec, not to this plugin; no once-per-location registry, so never deduplicated.
            warnings.warn_explicit(text, VoicelaneWarning, str(self.lane.spec.path), 1)

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> Any:
        if isinstance(excinfo.value, (RuleFailed, RuleError)):
            return str(excinfo.value)
        return super().repr_failure(excinfo, style=style)

    def reportinfo(self) -> tuple[Path, int, str]:
        """The lane spec is where the item comes from (line 0: its first line; skips point there)."""
        return self.lane.spec.path, 0, f"{self.lane.spec.name}::{self.rule_id}"


def _skip(reason: str) -> None:
    """Skip, reported at the lane spec (as a skip mark is) rather than at this line of the plugin."""
    try:
        exc = pytest.skip.Exception(reason, _use_item_location=True)
    except TypeError:  # a pytest without the (private) keyword: the reason is what matters
        exc = pytest.skip.Exception(reason)
    raise exc


def _run_dir(config: pytest.Config, name: str) -> Path:
    """A fresh, empty folder for one run: under --voicelane-out, else under pytest's basetemp."""
    out = config.getoption("voicelane_out", default=None)
    if out:
        base = _resolve(config, out)
    else:
        factory = getattr(config, "_tmp_path_factory", None)
        base = factory.getbasetemp() / "voicelane" if factory is not None else Path(_mkdtemp())
    base.mkdir(parents=True, exist_ok=True)
    n = 1
    while True:
        candidate = base / (name if n == 1 else f"{name}-{n}")
        try:
            candidate.mkdir()
            return candidate
        except FileExistsError:
            n += 1


def _mkdtemp() -> str:
    import tempfile

    return tempfile.mkdtemp(prefix="voicelane-")


def lane_run(config: pytest.Config, spec_path: str | Path) -> LaneRun:
    """The run of ``spec_path`` in this process, running the lane on first use."""
    runs = config.stash.setdefault(_RUNS, {})
    key = _resolve(config, spec_path)
    if key in runs:
        return runs[key]
    from harness.run.lane import RunOptions, run_lane

    spec = _load(key)
    run_dir = _run_dir(config, spec.name)
    try:
        doc, run_dir = run_lane(spec, RunOptions(out=run_dir))
    except Exception as exc:  # the harness could not run it: every rule of the lane reports this
        runs[key] = LaneRun(spec, run_dir, {}, f"{type(exc).__name__}: {exc}")
        return runs[key]
    runs[key] = LaneRun(spec, run_dir, doc)
    ledger = config.getoption("voicelane_ledger", default=None)
    if ledger:
        from harness.certify import certify_run

        if certify_run(run_dir, _resolve(config, ledger)) is not None:
            runs[key].error = f"could not certify {run_dir} into {ledger}"
    return runs[key]


class _RunFolders:
    """Registered only with --voicelane: collects run folders (also from xdist workers) for the summary."""

    def __init__(self) -> None:
        self.by_lane: dict[str, str] = {}

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        props = dict(report.user_properties)
        if report.when == "call" and "voicelane_run_dir" in props:
            self.by_lane.setdefault(report.nodeid.split("::", 1)[0], str(props["voicelane_run_dir"]))

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if self.by_lane:
            terminalreporter.section("voicelane")
            for lane, run_dir in sorted(self.by_lane.items()):
                terminalreporter.write_line(f"{lane}: run folder {run_dir}")


@pytest.fixture(scope="session")
def voicelane_run(request: pytest.FixtureRequest) -> Callable[[str | Path], LaneRun]:
    """``voicelane_run(spec)``: the run of a lane spec, run once per session (per xdist worker)."""

    def run(spec: str | Path) -> LaneRun:
        return lane_run(request.config, spec)

    return run


@pytest.fixture(scope="session")
def voicelane_lanes(request: pytest.FixtureRequest) -> list[Path]:
    """The lane specs given with ``--voicelane`` (absolute paths)."""
    specs: list[Path] = request.config.stash.get(_SPECS, [])
    return list(specs)


@pytest.fixture
def voicelane_snapshot(snapshot: Any) -> Iterator[Any]:
    """syrupy's ``snapshot`` writing JSON (``__snapshots__/<test file>/<test>.json``)."""
    from syrupy.extensions.json import JSONSnapshotExtension

    yield snapshot.use_extension(JSONSnapshotExtension)
