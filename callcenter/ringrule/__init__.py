"""The three-ring rule: live enforcement of the answer deadline through AMI."""
