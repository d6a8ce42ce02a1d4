"""The live wallboard: the board page, its SSE stream and JSON API, and supervisors' actions
on agents from it."""
