"""Running specs and recording them: from a TOML file to a Parquet dataset.

- :mod:`popsim.run.summary`: the end-of-run summary, patients first;
- :mod:`popsim.run.spec`: run specs (TOML -> validated ``RunSpec`` -> ``ModelConfig``);
- :mod:`popsim.run.ensemble`: scenarios x replicates as Dask tasks (``run_spec``);
- :mod:`popsim.run.record`: a replicate's results as Arrow tables and Parquet parts;
- :mod:`popsim.run.folder`: the output folder: checks, the lock, cleaning;
- :mod:`popsim.run.provenance`: the resolved configuration and the digest that resumes;
- :mod:`popsim.run.resources`: what a run needs against what the machine has.

May import everything below it (core, region, the model and its modules); the daily
step never imports this package (it brings pyarrow and dask).
"""
