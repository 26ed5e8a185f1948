"""The streaming protocol parser: grammar, order, phases, framing, and robustness under hypothesis."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from harness.protocol import Artifact, Progress, ProtocolParser, Stats, parse_bytes


def fired(data: bytes, *, success: bool = True, max_line: int = 64 * 1024) -> set[str]:
    parser = ProtocolParser(max_line)
    parser.feed(data)
    return {r.code for r in parser.results(success=success) if r.status == "fail"}


def test_events_carry_line_numbers_and_phases() -> None:
    events, parser = parse_bytes(
        b'log\nPROGRESS 1 2\nSTATS {"loss": 0.5}\nARTIFACT out/a.bin\nPROGRESS 2 2\nPROGRESS 1 1\n'
    )
    assert events == [
        Progress(2, 1, 2, 1),
        Stats(3, {"loss": 0.5}),
        Artifact(4, "out/a.bin"),
        Progress(5, 2, 2, 1),
        Progress(6, 1, 1, 2),
    ]
    assert parser.lines == 6 and parser.log_lines == 1
    assert fired(b"PROGRESS 1 2\nPROGRESS 2 2\n") == set()


@pytest.mark.parametrize(
    "line",
    [b"PROGRESSIVE 1 2", b"progress 1 2", b"STATSX {}", b"ARTIFACTS a", b" PROGRESS 1 2", b"", b"\r"],
)
def test_plain_log_lines(line: bytes) -> None:
    events, parser = parse_bytes(b"PROGRESS 1 1\n" + line + b"\n")
    assert events == [Progress(1, 1, 1, 1)]
    assert parser.findings == []


@pytest.mark.parametrize(
    ("data", "code"),
    [
        (b"PROGRESS\n", "malformed_line"),
        (b"PROGRESS\t1 1\n", "malformed_line"),
        (b"PROGRESS 1  1\n", "malformed_line"),
        (b"PROGRESS -1 1\n", "malformed_line"),
        (b"PROGRESS 1 1 1\n", "malformed_line"),
        (b"PROGRESS \xd9\xa1 \xd9\xa1\n", "malformed_line"),  # Arabic-Indic digits are not DIGIT
        (b"ARTIFACT \nPROGRESS 1 1\n", "malformed_line"),
        (b"PROGRESS 1 1\nSTATS\n", "malformed_line"),
        (b'PROGRESS 1 1\nSTATS {"a": 1,}\n', "stats_invalid_json"),
        (b'PROGRESS 1 1\nSTATS "text"\n', "stats_not_object"),
        (b'PROGRESS 1 1\nSTATS {"loss": Infinity}\n', "stats_non_finite"),
        (b'PROGRESS 1 1\nSTATS {"loss": 1e999}\n', "stats_non_finite"),
        (b'PROGRESS 1 1\nSTATS {"bundle_valid": 1}\n', "stats_invalid"),
        (b'PROGRESS 1 1\nSTATS {"lr": -0.1}\n', "stats_invalid"),
        (b"PROGRESS 2 1\nPROGRESS 1 1\n", "progress_out_of_range"),
        (b"PROGRESS 1 9999999999999999999\nPROGRESS 1 1\n", "progress_out_of_range"),
        (b"PROGRESS 3 5\nPROGRESS 2 5\nPROGRESS 5 5\n", "progress_regressed"),
        (b"ARTIFACT a\nPROGRESS 1 1\n", "tick_order"),
        (b"PROGRESS 2 5\n", "progress_incomplete"),
        (b"PROGRESS 1 2\nPROGRESS 1 1\n", "phase_incomplete"),
        (b"PROGRESS 1 1\n\xc3\x28\n", "invalid_utf8"),
    ],
)
def test_each_finding(data: bytes, code: str) -> None:
    assert code in fired(data)


def test_integer_valued_float_is_an_integer_and_big_ints_are_accepted() -> None:
    assert fired(b'PROGRESS 1 1\nSTATS {"step": 3.0, "custom": 123456789012345678901234567890}\n') == set()


def test_incomplete_is_skipped_unless_the_run_is_judged_finished() -> None:
    parser = ProtocolParser()
    parser.feed(b"PROGRESS 2 5\n")
    result = {r.code: r.status for r in parser.results(success=False)}
    assert result["progress_incomplete"] == "skip"


def test_trailing_cr_is_tolerated() -> None:
    events, parser = parse_bytes(b"PROGRESS 1 1\r\nARTIFACT a.bin\r\n")
    assert events[-1] == Artifact(2, "a.bin") and parser.findings == []


def test_line_cap_drops_bytes_without_buffering_them() -> None:
    parser = ProtocolParser(max_line=100)
    parser.feed(b"PROGRESS 0 1\n")
    for _ in range(1000):
        parser.feed(b"x" * 1000)  # one megabyte without a newline
        assert len(parser._buf) <= 100
    parser.feed(b"\nPROGRESS 1 1\n")
    assert {f.rule_id for f in parser.findings} == {"PROTO-line-length"}
    assert parser.findings[0].line == 2 and "1000000 bytes" in parser.findings[0].message
    assert parser.last_progress == Progress(3, 1, 1, 1)


def test_final_line_without_newline_counts() -> None:
    events, _ = parse_bytes(b"PROGRESS 0 1\nPROGRESS 1 1")
    assert events[-1] == Progress(2, 1, 1, 1)


# ── hypothesis ────────────────────────────────────────────────────────────────
protocolish = st.lists(
    st.one_of(
        st.builds(lambda a, b: f"PROGRESS {a} {b}".encode(), st.integers(0, 20), st.integers(0, 20)),
        st.builds(
            lambda d: b"STATS " + json.dumps(d).encode(),
            st.dictionaries(st.sampled_from(["loss", "step", "x"]), st.integers(-3, 3) | st.floats(allow_nan=True)),
        ),
        st.just(b"ARTIFACT a/b.bin"),
        st.sampled_from([b"STATS {", b"PROGRESS", b"PROGRESSIVE", b"STATS []", b"\xff\xfe", b"\r", b"x" * 300]),
        st.binary(max_size=40),
        st.text(max_size=40).map(lambda s: s.encode()),
    ),
    max_size=40,
)


def _joined(lines: list[bytes]) -> bytes:
    return b"\n".join(lines)


def _split_points(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({c % (len(data) + 1) for c in cuts})
    pieces, prev = [], 0
    for p in [*points, len(data)]:
        pieces.append(data[prev:p])
        prev = p
    return pieces


@settings(max_examples=300, deadline=None)
@given(protocolish, st.lists(st.integers(0, 10_000), max_size=12), st.sampled_from([64, 256, 64 * 1024]))
def test_result_is_independent_of_chunking(lines: list[bytes], cuts: list[int], max_line: int) -> None:
    data = _joined(lines)
    whole = ProtocolParser(max_line)
    whole_events = whole.feed(data) + whole.close()
    split = ProtocolParser(max_line)
    split_events = []
    for piece in _split_points(data, cuts):
        split_events += split.feed(piece)
    split_events += split.close()
    assert split_events == whole_events
    assert split.findings == whole.findings
    assert split.lines == whole.lines
    byte_by_byte = ProtocolParser(max_line)
    for i in range(len(data)):
        byte_by_byte.feed(data[i : i + 1])
    byte_by_byte.close()
    assert byte_by_byte.findings == whole.findings


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=2000))
def test_never_raises_and_classifies_every_line(data: bytes) -> None:
    events, parser = parse_bytes(data, max_line=128)
    results = parser.results()
    assert results and all(r.status in ("pass", "fail", "skip") for r in results)
    expected_lines = data.count(b"\n") + (0 if data.endswith(b"\n") or not data else 1)
    assert parser.lines == expected_lines
    # every line is exactly one of: event, log line, or line-level finding
    line_findings = {
        f.line for f in parser.findings if f.rule_id in ("PROTO-utf8", "PROTO-line-length", "PROTO-grammar")
    }
    event_lines = {e.line for e in events}
    assert parser.log_lines + len(event_lines | line_findings) <= parser.lines


@settings(max_examples=200, deadline=None)
@given(protocolish, st.lists(st.integers(0, 10_000), max_size=6))
def test_findings_only_mode_agrees_with_the_event_mode(lines: list[bytes], cuts: list[int]) -> None:
    data = _joined(lines)
    full, lean = ProtocolParser(), ProtocolParser(keep_events=False)
    emitted = []
    for piece in _split_points(data, cuts):
        emitted += full.feed(piece)
        assert lean.feed(piece) == []
    full.close(), lean.close()
    assert lean.findings == full.findings
    assert (lean.lines, lean.log_lines, lean.events) == (full.lines, full.log_lines, full.events)
    assert lean.last_progress == full.last_progress
    assert lean.results() == full.results()
