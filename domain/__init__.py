"""The trading domain: aggregates, events, value objects, risk policy and position math.

Pure: no clock, database, environment or network. Time, prices and ids come in as arguments.
"""
