"""The web process must never load torch or worker task code (DESIGN.md layout rules)."""

from __future__ import annotations

import subprocess
import sys


def test_importing_the_web_app_loads_no_torch_and_no_worker_tasks() -> None:
    code = (
        "import sys, app.main, app.cli_serve, app.jobs, app.migrate, app.queue, model.peaks, model.features\n"
        "from app.settings import Settings\n"
        "bad = sorted(m for m in sys.modules if m == 'torch' or m.startswith(('torch.', 'worker.tasks')))\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
