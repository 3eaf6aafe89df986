"""termserver: an open FHIR terminology and mapping service. Importing it imports nothing else."""

__version__ = "0.1.0"
