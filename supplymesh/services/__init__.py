"""Services: use-cases that orchestrate the domain through adapters."""
