"""The common space picture: element-set readers, catalogue fusion, SGP4 propagation,
conjunction screening, manoeuvre detection, overflights and CDM output.

Catalogues are columnar (`ElementSets`: one NumPy array per element); propagation
goes through sgp4's vectorised `SatrecArray`. See docs/space.md for the method
and its accuracy limits.
"""
