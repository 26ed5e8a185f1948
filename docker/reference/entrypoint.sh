#!/bin/sh
# Run the reference trainer with VOICELANE_OUT on the mounted volume, then print
# a final report block (plain log lines, after the protocol lines) from
# train_status.json. The trainer's exit status is the container's.
set -u
cd /app
: "${VOICELANE_OUT:=/voicelane/out}"
export VOICELANE_OUT

python3 -m trainer "$@"
rc=$?

python3 - "$VOICELANE_OUT" "$rc" <<'PY'
import json, sys
from pathlib import Path

out, rc = Path(sys.argv[1]), sys.argv[2]
print("==== voicelane reference lane (docker) ====")
print(f"exit status : {rc}")
try:
    status = json.loads((out / "artifacts/train_status.json").read_text(encoding="utf-8"))
except (OSError, ValueError) as exc:
    print(f"train_status: unreadable ({exc})")
    raise SystemExit(0)
print(f"state       : {status.get('state')}")
if "error" in status:
    print(f"error       : {status['error'].get('code')}: {status['error'].get('message')}")
stats = status.get("stats", {})
for key in ("mcd_heldout", "mcd_untrained", "mcd_chance", "mcd_griffinlim_ceiling",
            "lsd_heldout", "duration_ratio", "bundle_valid"):
    if key in stats:
        print(f"{key:<22}: {stats[key]}")
if status.get("state") == "completed":
    print(f"bundle      : {out}/bundles/reference/voice_bundle")
print("===========================================")
PY
exit "$rc"
