"""The post-call satisfaction survey's figures and views (docs/survey.md)."""
