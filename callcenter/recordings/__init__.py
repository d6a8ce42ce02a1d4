"""Call recordings: link MixMonitor files to calls, verify, file, serve and retain them."""
