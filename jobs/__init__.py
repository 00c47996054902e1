"""spark-submit entry points, one per pipeline; each is also ``mining run <name>``."""
