"""The `triage` command line: the composition root that wires core, training and API together."""
