"""Every routine task is a nox session.

nox -s demo         the main job: the reference lane through the harness, ending in a readiness report
nox -s conformance  the reference lane through the pytest plugin, with JUnit output
nox -s tests        the test suite (unit, property, snapshot, trainer smoke tests)
nox -s lint         ruff, mypy, and every schema against the 2020-12 metaschema
nox -s bench        benchmarks, each printed as a ratio against its baseline
"""

from __future__ import annotations

import nox

nox.options.sessions = ["tests", "lint"]
nox.options.reuse_existing_virtualenvs = True
nox.options.default_venv_backend = "venv"

PYTHON = "3.11"
#: The package with its trainer and dev extras; torch resolves to the pinned 2.13.0 CPU build.
INSTALL = ("-e", ".[trainer,dev]")


def _install(session: nox.Session) -> None:
    session.install(*INSTALL)


@nox.session(python=PYTHON)
def tests(session: nox.Session) -> None:
    """Run the test suite; extra arguments go to pytest (e.g. ``nox -s tests -- -k protocol``)."""
    _install(session)
    session.run("pytest", "-n", "2", "--dist", "loadfile", *session.posargs, env={"SOURCE_DATE_EPOCH": "1767225600"})


@nox.session(python=PYTHON)
def lint(session: nox.Session) -> None:
    """Static checks, and every contract schema against the Draft 2020-12 metaschema."""
    _install(session)
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", "contracts", "harness", "trainer", "tests", "benchmarks", "noxfile.py")
    session.run("mypy", "contracts", "harness", "trainer")
    session.run(
        "python",
        "-c",
        "from jsonschema import Draft202012Validator as V; from contracts import SCHEMA_FILES, load_schema;"
        "[V.check_schema(load_schema(c)) for c in SCHEMA_FILES]; print(f'{len(SCHEMA_FILES)} schemas valid')",
    )


@nox.session(python=PYTHON)
def demo(session: nox.Session) -> None:
    """The main job: run the reference lane, certify it, append to the ledger, write the readiness report.

    Prints the GO / NO-GO block and the certificate block; fails on NO-GO.
    The lane runs twice (``--repeat 2``) so the report also proves bitwise determinism;
    extra arguments replace that (e.g. ``nox -s demo -- --repeat 3``).
    """
    import json
    import time
    from pathlib import Path

    _install(session)
    run_dir = Path("runs") / time.strftime("demo-%Y%m%dT%H%M%SZ", time.gmtime())
    session.run(
        "voicelane",
        "run",
        "lanes/reference.toml",
        "--out",
        str(run_dir),
        *(session.posargs or ["--repeat", "2"]),
        success_codes=[0, 1],
    )
    meta = json.loads((run_dir / "certificate.meta.json").read_text())
    session.run("voicelane", "report", "--runs", str(meta["runId"]), "--out", "reports")
    session.log(f"run folder: {run_dir}; report: reports/readiness.html")


@nox.session(python=PYTHON)
def bench(session: nox.Session) -> None:
    """Benchmarks, side by side with their baselines; each prints a ratio."""
    _install(session)
    for script in sorted(__import__("pathlib").Path("benchmarks").glob("bench_*.py")):
        session.run("python", str(script), *session.posargs)


@nox.session(python=PYTHON)
def conformance(session: nox.Session) -> None:
    """The reference lane through the pytest plugin: one test per rule, plus the gate's checks, as JUnit XML.

    Runs the lane once (a couple of minutes on CPU); the run folder stays under reports/conformance/.
    Extra arguments go to pytest (e.g. ``nox -s conformance -- --voicelane=lanes/reference-docker.toml``).
    """
    _install(session)
    session.run(
        "pytest",
        "--voicelane=lanes/reference.toml",
        "--voicelane-out=reports/conformance",
        "--junitxml=reports/conformance-junit.xml",
        "-p",
        "no:cacheprovider",
        "-rfEs",
        "tests/conformance",
        *session.posargs,
        env={"SOURCE_DATE_EPOCH": "1767225600"},
    )
