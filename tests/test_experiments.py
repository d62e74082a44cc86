"""The paper's experiment configs compose with the settings their comments cite, and build their networks."""

from __future__ import annotations

import pytest
from hydra.utils import instantiate

from encnet.infra.config import CONFIG_DIR

# experiment → (data, arch, depth, lr, epochs, base, crop, SE heads)
PAPER = {
    "fcn_r50_pcontext": ("pcontext", "fcn", 50, 0.001, 80, 520, 480, None),
    "encnet_r50_pcontext": ("pcontext", "encnet", 50, 0.001, 80, 520, 480, True),
    "encnet_r50_pcontext_no_se": ("pcontext", "encnet", 50, 0.001, 80, 520, 480, False),
    "encnet_r101_pcontext": ("pcontext", "encnet", 101, 0.001, 80, 520, 480, True),
    "encnet_r50_ade20k": ("ade20k", "encnet", 50, 0.004, 180, 520, 480, True),
    "encnet_r101_ade20k": ("ade20k", "encnet", 101, 0.004, 180, 640, 576, True),
    "encnet_r101_voc": ("voc", "encnet", 101, 0.001, 80, 520, 480, True),
    "encnet_r50_cityscapes": ("cityscapes", "encnet", 50, 0.004, 240, 1024, 768, True),
}
# data config → the dataset class it reads (PASCAL-Context: the 59-class protocol, not pcontext60)
DATASETS = {"pcontext": "encnet.data.PascalContext", "ade20k": "encnet.data.ADE20K", "voc": "encnet.data.VOC",
            "cityscapes": "encnet.data.Cityscapes"}


def test_every_segmentation_experiment_is_listed():
    files = {p.stem for p in (CONFIG_DIR / "experiment").glob("*.yaml")}
    segmentation = {f for f in files if not f.startswith(("_", "cifar", "context_scenes"))}
    assert segmentation == set(PAPER)


@pytest.mark.parametrize("name", PAPER)
def test_paper_experiment(compose_train, tmp_path, name):
    data, arch, depth, lr, epochs, base, crop, se = PAPER[name]
    cfg = compose_train(f"experiment={name}", f"data.root={tmp_path}",
                        *(["data.sbd_root=" + str(tmp_path)] if data == "voc" else []), tiny=False)
    assert cfg.hydra.runtime.choices.data == data and cfg.data.dataset == DATASETS[data]
    assert (cfg.model.arch, cfg.model.backbone.depth, cfg.model.lr, cfg.trainer.max_epochs) == (arch, depth, lr, epochs)
    assert (cfg.data.base_size, cfg.data.crop_size, cfg.data.batch_size) == (base, crop, 16)
    assert cfg.model.backbone.output_stride == 8 and cfg.model.momentum == 0.9 and cfg.model.weight_decay == 1e-4
    assert cfg.model.poly_power == 0.9 and cfg.model.aux and cfg.model.aux_weight == 0.2
    if se is not None:
        assert cfg.model.num_codes == 32 and cfg.model.stage3_se and cfg.model.cem == "released"
        assert cfg.model.se_loss_weight == (0.2 if se else 0.0)
    if data == "voc":
        assert cfg.data.train_split == "train_aug"
    task = instantiate(cfg.model)
    if se is not None:
        assert (task.net.se_head is not None, task.net.stage3 is not None) == (se, se)
    assert task.hparams.num_classes == {"pcontext": 59, "ade20k": 150, "voc": 21, "cityscapes": 19}[data]

