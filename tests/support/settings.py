"""Settings for a daemon and web app against a PBX simulator in a test."""

from __future__ import annotations

from pathlib import Path

from callcenter.settings import AmiServer, Settings
from callcenter.sim import PBXSimulator


def sim_settings(sim: PBXSimulator, tmp_path: Path) -> Settings:
    """One server (``sim``) on the simulator, plain-http cookies, the spool in ``tmp_path``."""
    settings = Settings()
    settings.web.secure_cookies = False
    settings.database.spool_dir = str(tmp_path / "spool")
    settings.servers = [AmiServer(name="sim", host=sim.host, port=sim.port, secret="secret",
                                  reconnect_min_s=0.1, reconnect_max_s=1.0)]
    return settings
