"""The command groups of `shenpi`, one module each."""
