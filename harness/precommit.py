"""``voicelane-verify-manifests``: the pre-commit hook's entry, ``voicelane verify bundle`` per staged manifest.

pre-commit passes file names (``manifest.json`` files); a bundle is the
folder that holds one, so each folder is verified once, whichever of its
files changed. A ``manifest.json`` that is a JSON object with neither
``bundle_version`` nor ``files`` is some other tool's manifest and is left
alone; anything else (including one that does not parse) is verified, so a
broken bundle manifest cannot slip through by being broken.

Exit codes as ``voicelane``: 0 every bundle passed, 1 a hard rule failed,
2 a named file does not exist, 3 a rule could not be evaluated.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path


def is_bundle_manifest(path: Path) -> bool:
    from harness.jsonfile import JsonFileError, loads_strict

    try:
        doc = loads_strict(path.read_bytes())
    except (OSError, JsonFileError):
        return True
    return not isinstance(doc, dict) or "bundle_version" in doc or "files" in doc


def main(argv: Sequence[str] | None = None) -> int:
    from harness import render
    from harness.results import EXIT_CODES, verdict
    from harness.verify import verify_bundle

    names = list(sys.argv[1:] if argv is None else argv)
    if not names:
        print("usage: voicelane-verify-manifests MANIFEST.json ...", file=sys.stderr)
        return 2
    code = 0
    folders: list[Path] = []
    for name in names:
        path = Path(name)
        if not path.is_file():
            print(f"voicelane-verify-manifests: {name}: no such file", file=sys.stderr)
            code = max(code, 2)
        elif is_bundle_manifest(path) and path.parent not in folders:
            folders.append(path.parent)
    for folder in folders:
        results = verify_bundle(folder)
        render.write_text(results, sys.stdout, title=f"bundle {folder}")
        code = max(code, EXIT_CODES[verdict(results)])
    return code


if __name__ == "__main__":
    sys.exit(main())
