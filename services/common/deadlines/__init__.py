"""Deadline arithmetic shared by the worker and evaluation: working days of the official
calendar (``working_days``) and the escalation ladder (``escalation_policy``).

Pure functions and pydantic data, no I/O beyond reading schedule files on request: the
follow-up activities plan with them, evaluation validates and stores policies with them,
and neither has to import the other (docs/architecture.md, "Layers").
"""
