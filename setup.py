"""Builds the optional C accelerator of the AMI parser; all other metadata is in pyproject.toml.

Without a C compiler the build goes on without it and the pure-Python parser runs.
"""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension("callcenter.ami._speedups", ["callcenter/ami/_speedups.c"], optional=True),
    ]
)
