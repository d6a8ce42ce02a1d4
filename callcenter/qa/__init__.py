"""QA monitoring sheet: forms, scoring, sampling, storage and reports (no web code)."""
