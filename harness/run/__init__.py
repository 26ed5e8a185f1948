"""``voicelane run``: start a lane, watch its protocol live, judge what it printed and wrote.

The stages are plain functions over plain data: ``spec.load_spec`` reads the
TOML, an adapter starts the lane, ``runner.execute`` supervises one attempt
and returns an ``Attempt`` record, ``checks.judge`` turns records into rule
results, and ``lane.run_lane`` ties them together and writes the run folder.
"""

from harness.run.lane import RunOptions, run_lane
from harness.run.spec import LaneSpec, SpecError, load_spec

__all__ = ["LaneSpec", "RunOptions", "SpecError", "load_spec", "run_lane"]
