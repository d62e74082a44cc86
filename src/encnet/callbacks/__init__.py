"""Lightning callbacks: the random state that makes a resumed run exact, the per-epoch validation history, and
wandb media of segmentation runs."""

from encnet.callbacks.history import MetricsHistory
from encnet.callbacks.random_state import RandomStateCheckpoint
from encnet.callbacks.wandb_media import WandbSegmentationMedia

__all__ = ["MetricsHistory", "RandomStateCheckpoint", "WandbSegmentationMedia"]
