"""The read side's storage adapters: the ports they serve are in projections/ports.py (which this
package never imports: the protocols are structural). Bulk row writers (COPY), time-series
tables, the event store read one partition at a time and its LISTEN wake-up, and the live
store (Redis or this process's memory)."""
