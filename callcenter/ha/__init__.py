"""Active/standby and scale-out: which callcenter instance serves which PBX.

:class:`~callcenter.ha.leases.LeaseKeeper` holds leases in PostgreSQL
(``ha_leases``: a row per PBX with a heartbeat and a fencing epoch); the daemon
serves exactly the PBXs whose lease it holds, and its writes are fenced by the epoch.
"""
