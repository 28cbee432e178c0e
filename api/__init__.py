"""HTTP adapter: the FastAPI app over the triage core."""
