"""`python -m qa_pipeline.cli` runs the `qa` command."""

from qa_pipeline.cli.main import main

main()
