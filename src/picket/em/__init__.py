"""The electromagnetic environment: daily GNSS-interference maps in gpsjam.org's format.

`daily` counts good and bad aircraft per H3 cell and UTC day from decoded
ADS-B; `gpsjam_csv` reads and writes gpsjam's CSV; `cells` colours cells;
`render` draws a product as GeoJSON and PNG.
"""
