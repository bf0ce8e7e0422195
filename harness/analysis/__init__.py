"""From measurements to numbers: statistics, scaling fits, throughput."""
