"""uvicorn's own command line: `--factory`, `--workers 2` (its supervisor process).

The whole flow, forged forwarding headers ignored, the lifespan in every worker and a
clean stop on SIGTERM (deployment_support)."""

from __future__ import annotations

from pathlib import Path

from deployment_support import check_deployment, deployed

from servers import Emulator


def test_uvicorn_serves_the_whole_flow_and_stops_on_sigterm(
    emulator: Emulator, tmp_path: Path
) -> None:
    with deployed("uvicorn", emulator, tmp_path, workers=2) as bridge:
        check_deployment(bridge, emulator, workers=2)
