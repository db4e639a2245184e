"""Readers for every wire format; importing this registers them all."""

import importlib
import importlib.util

# Each module registers its formats on import. A module not written yet is a
# format not offered; an error inside an existing module is never hidden.
for _mod in (
    "picket.sources.ais_nmea",
    "picket.sources.ais_csv",
    "picket.sources.beast",
    "picket.sources.modes_text",
    "picket.sources.air_json",
    "picket.sources.opensky_parquet",
    "picket.sources.plots_csv",
    "picket.sources.asterix",
    "picket.sources.remoteid",
    "picket.sources.space_elements",
    "picket.sources.cot_in",
    "picket.sources.aisstream",
):
    if importlib.util.find_spec(_mod) is not None:
        importlib.import_module(_mod)
