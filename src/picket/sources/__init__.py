"""Readers for every wire format.

Importing the package imports no reader: `picket.sources.registry.FORMATS` loads the
built-in formats on its first use (`registry.BUILT_IN`), so a command that needs one
reader does not pay for the others.
"""
