"""cloudtrail-wizard domain core: no front end, no AWS call outside wizard.aws."""

__version__ = "0.1.0"
