"""The real AIS NMEA recordings in ../shared/data/ais that tests replay (the CSV ones aside)."""

NMEA_FILES = [
    "aisdb_global_20211101_1min.nm4",
    "aislib_stream_example_20100611.nmea",
    "dma_212123000_drift_bornholm_20141002.nmea",
    "dma_219165000_sudden_speed_change.nmea",
    "dma_danish_waters_20131112_5min.nmea.gz",
]
