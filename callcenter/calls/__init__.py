"""Calls: the pure tracker that turns AMI events into domain facts and call records."""
