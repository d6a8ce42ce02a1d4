"""The web app (aiohttp + Jinja2): login, roles, the wallboard; features plug in via setup(app)."""
