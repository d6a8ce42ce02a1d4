"""callcenter: call-centre telephony integration service for Asterisk."""

__version__ = "0.1.0"
