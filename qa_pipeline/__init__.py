"""qa_pipeline — speech and script QA for Chinese bank customer-service calls.

Importing this package loads no model and touches neither network nor disk.
"""

__version__ = "0.1.0"
