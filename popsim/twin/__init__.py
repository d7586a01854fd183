"""The twin: calibration to observed data, forecasts from today's state, backtests.

- :mod:`popsim.twin.observed`: observed data, checked and lined up with the outputs;
- :mod:`popsim.twin.score`: weighted interval score, coverage, hub quantile format;
- :mod:`popsim.twin.calibrate`: ``popsim calibrate`` (Optuna trials as Dask tasks);
- :mod:`popsim.twin.forecast`: ``popsim forecast`` (warm start from the observed census);
- :mod:`popsim.twin.backtest`: ``popsim backtest`` (rolling origins, scores vs baselines).
"""
