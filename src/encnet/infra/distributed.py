"""Checks on how a distributed run starts its processes (README "Scaling out").

With ``strategy: ddp`` and no cluster manager, Lightning starts the other processes of a machine by re-running the
command line (its ``_SubprocessScriptLauncher``, which adds ``hydra.run.dir=<this run's dir>``). Under ``-m``
(a Hydra multirun on the basic or joblib launcher) that command is the whole sweep, so every extra process would
run every job; such runs are refused with one clear error. On SLURM (``cluster=slurm``) SLURM starts one process
per task and Lightning's ``SLURMEnvironment`` only connects them, so sweeps work there (one job array).
"""

from __future__ import annotations

import pytorch_lightning as pl
from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode


def check_launch(trainer: pl.Trainer) -> None:
    """Raise ``ValueError`` if ``trainer`` would start processes by re-running a Hydra multirun's command."""
    launcher = trainer.strategy.launcher
    environment = getattr(launcher, "cluster_environment", None)
    relaunches = (environment is not None and not environment.creates_processes_externally
                  and getattr(launcher, "num_processes", 1) > 1)
    if relaunches and HydraConfig.initialized() and HydraConfig.get().mode == RunMode.MULTIRUN:
        raise ValueError(
            f"{type(trainer.strategy).__name__} with trainer.devices={launcher.num_processes} starts its processes "
            "by re-running this command, which under -m (multirun) is the whole sweep: run the jobs "
            "one at a time, or as a SLURM job array (cluster=slurm), where SLURM starts the processes"
        )
