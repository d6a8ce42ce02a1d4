"""Supervisor reports: periods, figures from the database, charts, exports, web pages."""
