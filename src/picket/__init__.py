"""picket: fuse surveillance feeds into one live picture and warn early."""

__version__ = "0.1.0"
