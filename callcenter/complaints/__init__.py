"""Complaint handling (#22): the workflow, its pages and the overdue alert."""
