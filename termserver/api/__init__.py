"""The HTTP layer: FastAPI app, thin routes, one place that turns errors into OperationOutcome."""
