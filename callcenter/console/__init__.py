"""The supervisors' console: call search, a call's page, the three-ring violations."""
