"""Asterisk Manager Interface: a sans-I/O protocol and an asyncio client."""
