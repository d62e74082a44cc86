"""The benchmark scripts run end to end at tiny sizes on CPU (their numbers are not checked: only that each
measures what it names)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"
TINY_NET = ["model.backbone.depth=18", "model.backbone.width=0.25", "model.head_channels=16", "model.num_codes=4"]
TINY_RUN = ["--device", "cpu", "--size", "32", "--train-batch", "2", "--infer-batches", "1", "3",
            "--repeat", "1", "--warmup", "0", "--compile", "off"]


def _run(script: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(BENCHMARKS / script), *args], capture_output=True, text=True,
                          timeout=300)


def test_segmentation_throughput_measures_fcn_and_each_encoding_impl():
    proc = _run("segmentation_throughput.py", *TINY_RUN, "--impls", "reference", "matmul", *TINY_NET)
    assert proc.returncode == 0, proc.stderr
    rows = {tuple(line.split()[:3]): line.split()[3:] for line in proc.stdout.splitlines()
            if line.startswith(("fcn ", "encnet "))}
    assert rows.keys() == {("fcn", "-", "off"), ("encnet", "reference", "off"), ("encnet", "matmul", "off")}
    for values in rows.values():  # params, train ms, train img/s, peak GiB, infer img/s at batch 1 and 3
        assert len(values) == 6 and all(float(v.rstrip("M")) > 0 for v in values), values
    params = {key[1]: float(values[0].rstrip("M")) for key, values in rows.items()}
    assert params["reference"] == params["matmul"] > params["-"]  # the CEM, SE heads and stage-3 encoder
    for impl in ("reference", "matmul"):  # each EncNet really ran the implementation it names
        assert f"EncNet/FCN, encoding {impl} (runs {impl}), compile off: train step time" in proc.stdout
    assert "The default encoding_impl=auto runs matmul here." in proc.stdout


def test_segmentation_throughput_reports_a_failed_network_in_its_row():
    # K = -1 makes EncNet fail at construction: its row says why, FCN is still measured.
    proc = _run("segmentation_throughput.py", *TINY_RUN, "--impls", "matmul", *TINY_NET, "model.num_codes=-1")
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    fcn = next(line for line in lines if line.startswith("fcn "))
    encnet = next(line for line in lines if line.startswith("encnet "))
    assert "failed" not in fcn
    assert "failed: " in encnet and "num_codes must be ≥ 0" in encnet
    assert "EncNet/FCN" not in proc.stdout  # no ratio without an EncNet measurement


def test_segmentation_throughput_bad_override_is_one_error():
    proc = _run("segmentation_throughput.py", *TINY_RUN, "model.no_such_key=1")
    assert proc.returncode == 2
    assert "model.no_such_key" in proc.stderr and proc.stderr.count("error:") == 1
    assert proc.stdout == ""  # nothing measured


def test_encoding_benchmark_measures_each_impl():
    proc = _run("encoding.py", "--device", "cpu", "--batch", "1", "--channels", "8", "--size", "4",
                           "--codes", "2", "--repeat", "1", "--impls", "reference", "matmul", "--json")
    assert proc.returncode == 0, proc.stderr
    rows = [json.loads(line) for line in proc.stdout.splitlines()]
    assert [r["impl"] for r in rows] == ["reference", "matmul"]
    for r in rows:
        assert r["forward_s"] > 0 and r["forward_backward_s"] > 0 and r["input_bytes"] == 8 * 16 * 4


def test_model_cost_on_meta_counts_what_a_real_forward_counts_and_the_readme_quotes_its_data(monkeypatch):
    from hydra.core.global_hydra import GlobalHydra
    from hydra.utils import instantiate
    from torch.utils.flop_counter import FlopCounterMode

    monkeypatch.syspath_prepend(str(BENCHMARKS))
    import model_cost
    from compose import compose_arch

    GlobalHydra.instance().clear()
    overrides = ["data=ade20k", "data.crop_size=40", *TINY_NET]
    for arch in ("fcn", "encnet"):
        row = model_cost.cost(overrides, arch)
        torch.manual_seed(0)
        net = instantiate(compose_arch(arch, None, overrides).model).net.eval()
        counter = FlopCounterMode(display=False)
        with counter, torch.no_grad():
            net(torch.randn(1, 3, 40, 40))  # computed for real, on the CPU
        assert row["gflops"] == counter.get_total_flops() / 1e9 > 0
        assert row["params"] == sum(p.numel() for p in net.parameters())
        assert (row["arch"], row["size"], row["num_classes"]) == (arch, 40, 150)
    data = json.loads((BENCHMARKS / "model_cost.json").read_text())
    assert len(data["rows"]) == 8
    assert model_cost.markdown(data["rows"]) in (BENCHMARKS.parent / "docs" / "benchmarks.md").read_text()


def test_encoding_roofline_model_is_what_the_readme_quotes():
    """`--gpu h200` on CPU prints the roofline model (no measurement); the README quotes exactly that output."""
    proc = _run("encoding.py", "--device", "cpu", "--gpu", "h200")
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.strip().splitlines()
    rows = [line.split() for line in lines[2:]]
    assert [(r[0], r[1]) for r in rows[:3]] == [("reference", "fp32-highest"), ("matmul", "fp32-highest"),
                                                ("triton", "fp32-highest")]
    triton_ieee = next(r for r in rows if r[:2] == ["triton", "fp32-highest"])
    triton_tf32 = next(r for r in rows if r[:2] == ["triton", "fp32-high"])
    assert triton_ieee[-1] == "compute" and triton_tf32[-1] == "memory"  # the ieee path is compute-bound
    assert proc.stdout.strip() in (BENCHMARKS.parent / "docs" / "triton_kernel.md").read_text()


def test_cpu_train_step_times_each_variant(tmp_path):
    data = ["data.num_train=4", "data.num_val=2", "data.image_size=48", "data.batch_size=2",
            f"paths.cache_dir={tmp_path}"]
    proc = _run("cpu_train_step.py", *TINY_NET, *data, "--repeat", "1", "--rows", "fp32", "channels_last", "bf16")
    assert proc.returncode == 0, proc.stderr
    times = {line.split()[1]: float(line.split()[2]) for line in proc.stdout.splitlines() if line.startswith("step ")}
    assert times.keys() == {"fp32", "channels_last", "bf16"} and all(t > 0 for t in times.values())
    assert "load batch" in proc.stdout and "profile of one step fp32" in proc.stdout and "aten::" in proc.stdout


def test_reach_field_and_missed_markers():
    proc = _run("reach.py", "--input", "256", "--sizes", "128", "--images", "2", *TINY_NET[:3])
    assert proc.returncode == 0, proc.stderr
    field = proc.stdout.splitlines()[0].split("theoretical receptive field ")[1].split(" px")[0]
    height, width = (int(v) for v in field.split(" × "))
    assert 1 < height == width <= 256
    assert "128 px scenes, 128 px markers, 2 val scenes: field misses some marker for" in proc.stdout


def test_accuracy_by_reach_counts_the_ambiguous_pixels_of_each_group(tiny_checkpoint):
    """A network that labels every pixel ``sand`` is right on exactly the sand pixels of each group; the groups
    split the ambiguous pixels (every marker seen or not); the CLI reads a checkpoint."""
    import numpy as np

    from encnet.data.context_scenes import AMBIGUOUS, CLASSES, draw_scene, scene_rng
    from tests.conftest import load_script

    reach = load_script(BENCHMARKS / "reach.py")
    sand = CLASSES.index("sand")

    class Sand(torch.nn.Module):
        def forward(self, x):
            logits = torch.zeros(x.shape[0], len(CLASSES), *x.shape[2:])
            logits[:, sand] = 1
            return {"out": logits}

    field = (101, 101)
    groups = reach.accuracy_by_reach(Sand(), 256, 2, field)
    expected = {g: [0, 0] for g in reach.GROUPS}
    for index in range(2):
        scene = draw_scene(scene_rng(0, "val", index), 256, reach.MARKERS_128)
        where, missed, too_few = reach.reach_masks(scene, field)
        is_sand = scene.label[where] == sand
        for group, members in zip(reach.GROUPS, (~missed, missed, too_few)):
            expected[group][0] += int(is_sand[members].sum())
            expected[group][1] += int(members.sum())
        ambiguous = np.isin(scene.label, [CLASSES.index(c) for c in AMBIGUOUS]).sum()
        assert where.sum() == ambiguous
    first, second, third = reach.GROUPS
    assert groups[first][1] + groups[second][1] == sum(expected[g][1] for g in (first, second)) > 0
    for group in reach.GROUPS:
        acc, n = groups[group]
        assert n == expected[group][1] and (n == 0 or acc == pytest.approx(expected[group][0] / n))
    proc = _run("reach.py", "--input", "256", "--sizes", "128", "--images", "1", *TINY_NET[:3],
                "--checkpoints", str(tiny_checkpoint))
    assert proc.returncode == 0, proc.stderr
    assert f"{tiny_checkpoint} (encnet), 128 px, ambiguous pixel accuracy by the field around them: " \
           "every marker in the field: " in proc.stdout


def test_cem_gamma_saturation_of_a_trained_network(tiny_checkpoint):
    """The statistics the benchmark prints for a checkpoint's CEM: mean |e| and the shares of saturated γ."""
    from encnet.tasks.loading import load_task
    from tests.conftest import load_script

    bench = load_script(BENCHMARKS / "cem_gamma_saturation.py")
    net = load_task(tiny_checkpoint).net
    e, low, high = bench.gamma_stats(net, torch.rand(2, 3, 64, 64)).tolist()
    assert e > 0 and 0 <= low <= 1 and 0 <= high <= 1 and low + high <= 1


def test_precise_bn_recomputes_exact_averages_and_reads_checkpoints(tiny_checkpoint, cache_dir):
    """recompute_batchnorm: running statistics = the average of the batches' statistics, momentum kept, eval
    mode after; the CLI validates each checkpoint before and after, and prints both curves' falls."""
    from tests.conftest import TINY, load_script

    bench = load_script(BENCHMARKS / "precise_bn.py")
    net = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 1), torch.nn.BatchNorm2d(4, momentum=0.3))
    batches = [torch.randn(2, 3, 5, 5) + i for i in range(3)]
    assert bench.recompute_batchnorm(net, batches) == 1
    with torch.no_grad():
        features = [net[0](b) for b in batches]
    mean = torch.stack([f.mean((0, 2, 3)) for f in features]).mean(0)
    var = torch.stack([f.var((0, 2, 3), unbiased=True) for f in features]).mean(0)
    torch.testing.assert_close(net[1].running_mean, mean)
    torch.testing.assert_close(net[1].running_var, var)
    assert net[1].momentum == 0.3 and not net.training
    data = [o for o in TINY if o.startswith("data.")]
    proc = _run("precise_bn.py", str(tiny_checkpoint), str(tiny_checkpoint), "--batches", "1", *data,
                f"paths.cache_dir={cache_dir}")
    assert proc.returncode == 0, proc.stderr
    lines = [line for line in proc.stdout.splitlines() if line.startswith(str(tiny_checkpoint))]
    assert len(lines) == 2 and "as trained" in lines[0] and "batch-norm layers recomputed over 1 training" in lines[0]
    assert "val mIoU curve over 2 checkpoints, recomputed: largest fall 0.00, total fall 0.00 points" in proc.stdout
