"""Deployment on a real Asterisk: read the shipped ``dialplan/`` configuration and
check that it makes Asterisk emit what the daemon needs (``callcenter check-config``)."""
