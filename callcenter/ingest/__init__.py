"""The ingest core: AMI events in, through the tracker, out to the consumers.

``daemon`` runs it; ``pipeline`` (real-time path), ``pipeline_durable`` (journal and
store, its own bounded queue) and ``pipeline_replay`` (resume, rebuild, captures) carry
the events; ``cel`` fills outages from Asterisk's own CEL; ``quietgc`` keeps the garbage
collector from pausing the event loop.
"""
