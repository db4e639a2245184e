"""The Baltic demo scenario: seeded truth (`scenario.build`) and its wire bytes (`emit`).

geography (hand-authored zones, cables, lanes), ships, aircraft, plots (drone and
clutter) and incidents make the truth; emit encodes it as AIS NMEA, Beast and plot CSV.
"""
