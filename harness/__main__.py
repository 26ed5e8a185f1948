"""``python -m harness`` is the ``voicelane`` command."""

from harness.cli import main

raise SystemExit(main())
