"""The agents' browser panel: presence, screen pop, customers, call notes, follow-ups."""
