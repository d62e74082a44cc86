"""A study's runs as data: the ``metrics.json`` records of training and evaluation runs grouped by configuration
(:mod:`.records`), their statistics over seeds and paired differences (:mod:`.statistics`), learning curves and
their stability (:mod:`.curves`), and sweeps plotted against a config key (:mod:`.sweeps`). ``encnet-results``
(:mod:`encnet.cli.results`) prints them."""
