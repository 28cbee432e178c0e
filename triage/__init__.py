"""ticket-triage core library: contract, importers, bundle loading, prediction, lifecycle.

It imports neither `api` nor `training`, and never torch.
"""

__version__ = "0.1.0"
