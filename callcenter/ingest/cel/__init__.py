"""Asterisk's Channel Event Logging (CEL): completing the calls of an outage.

``cel_pgsql`` writes CEL rows into the callcenter database whether the daemon runs
or not. :mod:`callcenter.ingest.cel.rows` reads them, :mod:`callcenter.ingest.cel.translate` turns
them into the AMI frames the call tracker already understands (pure), and
:mod:`callcenter.ingest.cel.filler` replays an outage's calls from their journal with those
frames in the outage's place.
"""
