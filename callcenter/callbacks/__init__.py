"""Queue callback and key-account priority: the FastAGI service the dialplan asks, and
the dispatcher that calls waiting customers back through the command port."""
