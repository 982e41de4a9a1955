"""The pure domain: catalog, stock, quotes and orders. No I/O, no clock: time is passed in."""
