"""Use cases: commands, one handler per command, ports, and the eventsourcing Application."""
