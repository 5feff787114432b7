"""python -m shenpi: the CLI."""
from shenpi.cli import main

main()
