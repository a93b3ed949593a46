"""What ``prune`` and ``compress`` print, and their exit status."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable

from gui_fastpath.maintenance import BadRootError, MaintenanceResult

EXIT_FAILED = 1
EXIT_BAD_ROOT = 2


def report(command: str, run: Callable[[], MaintenanceResult], *, as_json: bool) -> int:
    """Run the command; print its result (text or JSON); 1 if a change failed, 2 if bad input."""
    try:
        result = run()
    except (BadRootError, ValueError) as exc:
        print(f"gui-fastpath {command}: {exc}", file=sys.stderr)
        return EXIT_BAD_ROOT
    if as_json:
        print(json.dumps(result.to_dict(), indent=2))
    else:
        print("\n".join(result.describe()))
    return EXIT_FAILED if result.failed or any(r.error for r in result.refreshed) else 0
