"""supplymesh: an open, decentralized industrial internet on the Beckn protocol."""

__version__ = "0.1.0"
