"""Beyond one machine: shards of a run, merging them, and a Dask cluster as the executor."""
